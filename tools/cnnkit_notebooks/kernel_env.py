"""The environment every evcxr kernel of this project gets, from the runner, the tests and
`make lab` alike.

Speed: every kernel gets EVCXR_CONFIG_DIR=tools/evcxr, whose init.evcxr turns on evcxr's
`:cache` (compiled dependencies shared across kernels in ~/.cache/evcxr), and a fixed
EVCXR_TMPDIR under ~/.cache/cnnkit-notebooks/, so that the next kernel finds the cargo
target folder of the previous one and rebuilds nothing (not even the path crate cnnkit,
which `:cache` skips). A lock file keeps two runners from sharing one folder. For the
fixed folder the kernel also gets LD_LIBRARY_PATH (see with_std_libdir).

Speed inside cells: ~/.cache/cnnkit-notebooks/.cargo/config.toml (a copy of
tools/evcxr/cargo-config.toml) gives the cells' dependencies release settings; evcxr's
own profile (debug assertions, overflow checks) made training 2.9x slower.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from .paths import CARGO_PROFILE, EVCXR_CONFIG_DIR, cache_home

#: The kernel spec name evcxr_jupyter --install registers.
KERNEL = "rust"
SLOTS = 8  # shared build folders evcxr-0 ... evcxr-7: that many runners at once


def evcxr_base() -> Path:
    """The folder that holds the kernels' build folders (and their cargo settings)."""
    return Path(os.environ.get("NBRUN_EVCXR_DIR") or cache_home() / "cnnkit-notebooks")


def install_cargo_profile(base: Path) -> None:
    """Puts tools/evcxr/cargo-config.toml at base/.cargo/config.toml, where cargo finds it
    for every build folder below `base` (release settings for the cells' dependencies)."""
    target = base / ".cargo" / "config.toml"
    text = CARGO_PROFILE.read_text(encoding="utf-8")
    with contextlib.suppress(OSError):
        if target.read_text(encoding="utf-8") == text:
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own: two runners starting at once must not share one.
    fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def evcxr_tmpdir(enabled: bool) -> Iterator[Path | None]:
    """Yields a fixed EVCXR_TMPDIR under ~/.cache that no other runner uses now, or None."""
    if not enabled:
        yield None
        return
    base = evcxr_base()
    install_cargo_profile(base)
    for slot in range(SLOTS):
        lock_path = base / f"evcxr-{slot}.lock"
        fh = open(lock_path, "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        try:
            path = base / f"evcxr-{slot}"
            path.mkdir(exist_ok=True)
            yield path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
        return
    print("  (all shared evcxr folders are in use: this run builds in temporary folders)")
    yield None


def kernel_env(quick: bool, tmpdir: Path | None, use_cache: bool) -> dict[str, str]:
    """The kernel's environment: the caller's, with quick mode, `:cache` and build folder set."""
    env = dict(os.environ)
    # nbclient's kernel would otherwise inherit a stale setting from the caller's shell.
    env.pop("CNNKIT_QUICK", None)
    if quick:
        env["CNNKIT_QUICK"] = "1"
    if use_cache:
        env["EVCXR_CONFIG_DIR"] = str(EVCXR_CONFIG_DIR)
    if tmpdir is not None:
        env["EVCXR_TMPDIR"] = str(tmpdir)
    else:
        # evcxr then makes a fresh temporary folder per kernel: below `evcxr_base()`, so
        # that cargo still finds the dependencies' build settings (install_cargo_profile).
        env["TMPDIR"] = str(kernel_tmp_root())
    return with_std_libdir(env)


@contextlib.contextmanager
def kernel_environment(quick: bool = False, shared_target: bool = True, use_cache: bool = True) -> Iterator[dict[str, str]]:
    """`kernel_env` with a locked shared build folder for as long as the block runs: what a
    run of several notebooks uses, one kernel after the other.

    Training checkpoints (`FitConfig::checkpoint_dir`, `cnnkit::train::default_checkpoint_dir`)
    go to a temporary folder of this run (CNNKIT_CHECKPOINTS), unless the caller set one:
    a headless run trains from the start and shows this run's results, where JupyterLab
    resumes from the student's own checkpoints in ~/.cache/cnnkit/fit.
    """
    with evcxr_tmpdir(shared_target) as tmpdir, tempfile.TemporaryDirectory(prefix="cnnkit-fit-") as fit_dir:
        env = kernel_env(quick, tmpdir, use_cache)
        env.setdefault("CNNKIT_CHECKPOINTS", fit_dir)
        yield env


def kernel_tmp_root() -> Path:
    """A TMPDIR for kernels without a fixed build folder, below `evcxr_base()`."""
    base = evcxr_base()
    install_cargo_profile(base)
    root = base / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def with_std_libdir(env: dict[str, str]) -> dict[str, str]:
    """Adds the toolchain's library folder to LD_LIBRARY_PATH.

    rustc writes the cell library's RUNPATH relative to target/<triple>/debug/deps, but
    evcxr loads a copy one folder up. From a /tmp/.tmpXXXX folder the extra `..` stops at
    `/` and the path still reaches the toolchain; from ~/.cache it does not, and the first
    cell dies with "dlopen failed" (libstd-*.so not found). Naming the toolchain's library
    folder fixes that for any build folder.
    """
    libdir = rust_std_libdir()
    if libdir:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, env.get("LD_LIBRARY_PATH", "")) if p)
    return env


def rust_std_libdir() -> str | None:
    """The folder holding the toolchain's libstd-*.so for the host, or None."""
    try:
        sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
        host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    triple = next((line.split(":", 1)[1].strip() for line in host.splitlines() if line.startswith("host:")), "")
    libdir = Path(sysroot) / "lib" / "rustlib" / triple / "lib"
    return str(libdir) if libdir.is_dir() else None


def evcxr_installed() -> bool:
    """Whether the kernel's program is on PATH or where `cargo install` puts it."""
    return shutil.which("evcxr_jupyter") is not None or (Path.home() / ".cargo/bin/evcxr_jupyter").exists()
