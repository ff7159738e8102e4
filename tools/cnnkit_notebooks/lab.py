"""cnnkit-lab: starts JupyterLab on notebooks/ with the kernel settings the runner uses.

    cnnkit-lab [jupyter lab arguments]      (what `make lab` runs)

The kernels get evcxr's `:cache` (EVCXR_CONFIG_DIR=tools/evcxr) and build below
~/.cache/cnnkit-notebooks/ (TMPDIR), where ~/.cache/cnnkit-notebooks/.cargo/config.toml
gives cnnkit, dfdx and gemm release settings instead of evcxr's debug-checked profile:
the lecture's training runs about three times faster that way. Each kernel still gets its
own build folder, so several notebooks can be open at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .kernel_env import kernel_env
from .paths import NOTEBOOKS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The runner's environment for a kernel without a fixed build folder; quick mode as
    # the caller set it (`QUICK=1 make lab`).
    quick = os.environ.get("CNNKIT_QUICK", "").strip().lower() not in ("", "0", "false", "no")
    env = kernel_env(quick, None, True)
    jupyter = Path(sys.executable).parent / "jupyter"
    args = [str(jupyter), "lab", f"--notebook-dir={NOTEBOOKS}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    print(f"JupyterLab on {NOTEBOOKS} (stop it with Ctrl-C twice)")
    print(f"kernels build below {env['TMPDIR']}")
    os.execve(args[0], args + argv, env)


if __name__ == "__main__":
    sys.exit(main())
