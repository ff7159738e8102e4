"""cnnkit-lab: starts JupyterLab on notebooks/ with the kernel settings the runner uses.

    cnnkit-lab [jupyter lab arguments]      (what `make lab` runs)

The kernels get evcxr's `:cache` (EVCXR_CONFIG_DIR=tools/evcxr) and build below
~/.cache/cnnkit-notebooks/ (TMPDIR), where ~/.cache/cnnkit-notebooks/.cargo/config.toml
gives cnnkit, dfdx and gemm release settings instead of evcxr's debug-checked profile:
the lecture's training runs about three times faster that way. Each kernel still gets its
own build folder, so several notebooks can be open at once.

`lab_env` and `lab_command` are those settings for other callers: the browser test
(tools/tests/test_browser.py) starts JupyterLab with them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .kernel_env import kernel_env
from .paths import NOTEBOOKS


def quick_from_env() -> bool:
    """Quick mode as the caller set it (`QUICK=1 make lab` sets CNNKIT_QUICK=1)."""
    return os.environ.get("CNNKIT_QUICK", "").strip().lower() not in ("", "0", "false", "no")


def lab_env(quick: bool | None = None, tmpdir: Path | None = None) -> dict[str, str]:
    """The environment JupyterLab runs in and hands to its kernels: the runner's kernel
    environment (`kernel_env`) with evcxr's `:cache` on.

    quick: quick mode; None takes it from CNNKIT_QUICK. tmpdir: one fixed build folder
    (EVCXR_TMPDIR) for every kernel, for a caller that runs one kernel at a time and holds
    the folder's lock (`kernel_env.evcxr_tmpdir`); None, as `make lab` does, gives each
    kernel a build folder of its own below ~/.cache/cnnkit-notebooks/tmp.
    """
    return kernel_env(quick_from_env() if quick is None else quick, tmpdir, True)


def lab_command(notebook_dir: Path = NOTEBOOKS) -> list[str]:
    """`jupyter lab` from this Python's venv on notebook_dir (with --allow-root as root);
    the caller appends its own arguments."""
    jupyter = Path(sys.executable).parent / "jupyter"
    args = [str(jupyter), "lab", f"--notebook-dir={notebook_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    env = lab_env()
    args = lab_command(NOTEBOOKS)
    print(f"JupyterLab on {NOTEBOOKS} (stop it with Ctrl-C twice)")
    print(f"kernels build below {env['TMPDIR']}")
    os.execve(args[0], args + argv, env)


if __name__ == "__main__":
    sys.exit(main())
