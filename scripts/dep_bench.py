"""Times `:dep cnnkit` and the first cnnkit cell in fresh evcxr kernels.

usage: .venv/bin/python scripts/dep_bench.py REPO CACHE_DIR LABEL
  REPO       a checkout of this repository (compare two: a worktree of an older commit, and HEAD)
  CACHE_DIR  a folder to use as XDG_CACHE_HOME; it is DELETED first, so the first kernel is cold
  LABEL      a word printed in front of the figures
Kernel 1 starts with an empty CACHE_DIR (cold: evcxr's :cache and the cargo target folder
are empty); kernel 2 reuses it (warm). Environment as the notebooks' runner gives it:
EVCXR_CONFIG_DIR=REPO/tools/evcxr (init.evcxr: `:cache 8192`), XDG_CACHE_HOME=CACHE_DIR,
EVCXR_TMPDIR fixed below it, with the dependencies' cargo settings copied beside it.
"""
import os, shutil, sys, time
from pathlib import Path
from jupyter_client.manager import start_new_kernel

repo, cache, label = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
shutil.rmtree(cache, ignore_errors=True)
base = cache / "cnnkit-notebooks"
(base / ".cargo").mkdir(parents=True)
shutil.copy(repo / "tools/evcxr/cargo-config.toml", base / ".cargo/config.toml")
env = dict(os.environ, EVCXR_CONFIG_DIR=str(repo / "tools/evcxr"), XDG_CACHE_HOME=str(cache),
           EVCXR_TMPDIR=str(base / "kernel"))
env.pop("CNNKIT_QUICK", None)
(base / "kernel").mkdir()
sysroot = os.popen("rustc --print sysroot").read().strip()
env["LD_LIBRARY_PATH"] = f"{sysroot}/lib:" + env.get("LD_LIBRARY_PATH", "")

def run(kc, code):
    t = time.monotonic()
    reply = kc.execute_interactive(code, timeout=3600, output_hook=lambda m: None)
    return time.monotonic() - t, reply["content"]["status"]

for kernel in ("cold", "warm"):
    km, kc = start_new_kernel(kernel_name="rust", cwd=str(repo / "notebooks"), env=env)
    try:
        d, s1 = run(kc, ':dep cnnkit = { path = "../crates/cnnkit" }')
        c, s2 = run(kc, "use cnnkit::prelude::*;\nlet s = summary(&Cpu::default().build_module::<cnnkit::model::LectureCnn, f32>(), [28, 28, 1])?;\ns.total_params()")
        e, s3 = run(kc, "let y = s.total_params() + 1;\ny")
        print(f"{label} {kernel}: :dep {d:.1f} s ({s1}), first cell {c:.1f} s ({s2}), small cell {e:.1f} s ({s3})", flush=True)
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)
