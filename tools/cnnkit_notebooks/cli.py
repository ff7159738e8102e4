"""cnnkit-run: runs the Rust notebooks headlessly with the real evcxr kernel and fails loudly.

    cnnkit-run                                # every notebook in notebooks/, full settings
    cnnkit-run --quick                        # CNNKIT_QUICK=1 in the kernels
    cnnkit-run notebooks/02_*.ipynb --out build/one

For each notebook it starts a fresh kernel `rust` (evcxr_jupyter) in the notebook's folder,
runs the code cells in order with nbclient, and writes into the output folder (default
build/) the files listed in `cnnkit_notebooks.report`. Which cells fail: see
`cnnkit_notebooks.rules`. The first failing cell stops its notebook. The run ends with the
line `N passed, N failed` (notebooks) and exits with 1 if any notebook failed.

A notebook that is not a notebook (not JSON, not nbformat 4) fails with its reason and the
run goes on. A second run with the same output folder waits for the first (report.FolderLock).
SIGINT or SIGTERM ends the kernels and their processes at once; the notebook that ran fails
as `interrupted`, the others are reported as not run, and the run still writes its report
and closing line, then exits with 128 + the signal's number (130, 143).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import os
import sys
import time
from pathlib import Path

from .console import human_size, indent, parse_size, say
from .kernel_env import KERNEL, evcxr_installed, kernel_environment
from .paths import BUILD, NOTEBOOKS
from .processes import stop_on_signals
from .report import Outputs, Stopped, mode_text, summary_line
from .rules import TAGS
from .run import (DEFAULT_GRACE, DEFAULT_MAX_OUTPUT, DEFAULT_STARTUP_TIMEOUT, DEFAULT_TIMEOUT, OUTPUT_STOP,
                  NotebookResult, NotebookRun, not_run)


def find_notebooks(paths: list[str], exclude: list[str] | None = None) -> list[tuple[Path, str]]:
    """(path, name) of each notebook. A folder is searched recursively, in sorted path order
    (notebooks/00_... before notebooks/exercises/...); the name is the path relative to
    that folder without `.ipynb` (e.g. `exercises/ex01_x`) and names the output files."""
    if not paths:
        paths = [str(NOTEBOOKS)]
    found: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if p.is_dir():
            for q in sorted(p.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in q.parts:
                    found.append((q, q.relative_to(p).with_suffix("").as_posix()))
        elif p.exists():
            found.append((p, p.stem))
        else:
            raise SystemExit(f"cnnkit-run: no such notebook or folder: {p}")
    if exclude:
        found = [(q, name) for q, name in found if not any(fnmatch.fnmatch(name, pat) for pat in exclude)]
    names = [name for _, name in found]
    for name in set(names):
        if names.count(name) > 1:
            raise SystemExit(f"cnnkit-run: two notebooks would write the same output files: {name}")
    return found


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def size_option(text: str) -> int:
    """argparse type for --max-output: 1000000, 500k, 1M, 0 (no limit)."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def default_max_output(prog: str) -> int:
    """NBRUN_MAX_OUTPUT, else DEFAULT_MAX_OUTPUT."""
    text = os.environ.get("NBRUN_MAX_OUTPUT", "").strip()
    if not text:
        return DEFAULT_MAX_OUTPUT
    try:
        return parse_size(text)
    except ValueError as exc:
        raise SystemExit(f"{prog}: NBRUN_MAX_OUTPUT: {exc}") from None


MAX_OUTPUT_HELP = (
    "bytes of output text a cell keeps: its first SIZE and its last 64 kB (default "
    f"{human_size(DEFAULT_MAX_OUTPUT)}, or NBRUN_MAX_OUTPUT; 500k, 2M, 0 = no limit); a cell that prints "
    f"{OUTPUT_STOP} times SIZE is stopped"
)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="cnnkit-run",
        description="Run Rust notebooks headlessly with the evcxr kernel; fail on errors.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="cell tags:\n"
        + "".join(f"  {tag:<18} {meaning}\n" for tag, meaning in TAGS.items())
        + f"  {'timeout=SECONDS':<18} this cell's own timeout instead of --timeout\n"
        + "\nThe last line is `N passed, N failed`; the exit status is 1 when a notebook failed.",
    )
    ap.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/)")
    ap.add_argument("--out", default=str(BUILD), help="output folder (default: build/)")
    ap.add_argument(
        "--quick",
        action="store_true",
        default=env_flag("QUICK"),
        help="quick mode: CNNKIT_QUICK=1 in the kernels (default when QUICK=1 is set)",
    )
    ap.add_argument(
        "--timeout",
        type=int,
        default=int(os.environ.get("NBRUN_TIMEOUT", DEFAULT_TIMEOUT)),
        help=f"seconds per cell (default {DEFAULT_TIMEOUT}, or NBRUN_TIMEOUT); a cell tag timeout=N overrides it",
    )
    ap.add_argument("--grace", type=float, default=DEFAULT_GRACE, help="seconds to wait for late stderr per cell")
    ap.add_argument(
        "--startup-timeout", type=int, default=DEFAULT_STARTUP_TIMEOUT, help="seconds to wait for a kernel to start"
    )
    ap.add_argument("--no-shared-target", action="store_true", help="let each kernel build in its own temporary folder")
    ap.add_argument("--no-cache", action="store_true", help="do not turn on evcxr's :cache")
    ap.add_argument("--no-html", action="store_true", help="skip the HTML pages")
    ap.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="skip notebooks whose name matches this glob (names are relative paths without .ipynb, "
        "e.g. 'exercises/*'); may be repeated",
    )
    ap.add_argument("--max-output", type=size_option, metavar="SIZE", default=None, help=MAX_OUTPUT_HELP)
    ap.add_argument("--kernel", default=KERNEL, help=f"the kernel to run the notebooks with (default {KERNEL})")
    ap.add_argument("--report", help="also write the JSON report to this file")
    ap.add_argument(
        "--echo",
        action="store_true",
        default=env_flag("NBRUN_ECHO"),
        help="print the cells' stdout/stderr while they run (e.g. training progress; or NBRUN_ECHO=1)",
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.max_output is None:
        args.max_output = default_max_output("cnnkit-run")
    notebooks = find_notebooks(args.paths, args.exclude)
    try:
        with stop_on_signals("cnnkit-run") as stop:
            try:
                return run_all(args, notebooks, stop)
            except Stopped as exc:
                say(f"cnnkit-run: {exc}; nothing ran")
                return stop.exit_status()
    except KeyboardInterrupt:  # a second signal: stop at once
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def run_all(args: argparse.Namespace, notebooks: list[tuple[Path, str]], stop) -> int:
    outputs = Outputs(Path(args.out), html_pages=not args.no_html)
    out = outputs.out
    started = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    say(
        f"cnnkit-run: {len(notebooks)} notebook(s), mode {mode_text(args.quick)}, "
        f"cell timeout {args.timeout} s, output cap {human_size(args.max_output) if args.max_output else 'none'} "
        f"per cell, output {out}"
    )
    if not evcxr_installed():
        say("cnnkit-run: evcxr_jupyter not found: run `make setup` first")
    if not args.no_html and outputs.mathjax_url is None:
        say("cnnkit-run: no local MathJax in .venv/share/mathjax (run `make setup`): pages load it from a CDN")

    results: list[NotebookResult] = []
    t_all = time.monotonic()
    with kernel_environment(args.quick, not args.no_shared_target, not args.no_cache) as env:
        if "EVCXR_TMPDIR" in env:
            say(f"cnnkit-run: shared evcxr folder {env['EVCXR_TMPDIR']}")
        for k, (path, name) in enumerate(notebooks, start=1):
            if stop.requested:
                results.append(not_run(path, name, f"not run: the run was stopped by {stop.name} before this notebook"))
                continue
            say(f"\n[{k}/{len(notebooks)}] {os.path.relpath(path)}")
            result = NotebookRun(
                path,
                name=name,
                env=env,
                timeout=args.timeout,
                grace=args.grace,
                startup_timeout=args.startup_timeout,
                max_output=args.max_output,
                log_path=outputs.log_path(name),
                echo=args.echo,
                kernel_name=args.kernel,
            ).execute()
            problem = outputs.write(result)
            if problem:
                say(f"  ({problem})")
            results.append(result)
            if result.failure:
                f = result.failure
                say(f"  FAILED {os.path.relpath(path)} {f.headline()}")
                say(indent(f.message))
            say(f"  {result.status} in {result.seconds:.1f} s ({result.cells_run}/{result.code_cells} code cells)")
    total = time.monotonic() - t_all

    index = outputs.finish(results, args.quick, started, total)
    if args.report:
        (Path(args.report)).write_text((out / "report.json").read_text(encoding="utf-8"), encoding="utf-8")

    say("\n" + "=" * 78)
    for r in results:
        mark = "passed" if r.status == "passed" else "FAILED"
        extra = f"  {r.failure.headline()}" if r.failure else ""
        say(f"{mark:>6}  {r.seconds:7.1f} s  {os.path.relpath(r.path)}{extra}")
    if not results:
        say("no notebooks found")
    say(f"total {total:.1f} s; open {index}")
    if stop.requested:
        skipped = sum(1 for r in results if r.failure and r.failure.message.startswith("not run"))
        say(f"cnnkit-run: stopped by {stop.name}: the kernels and their processes were ended; "
            f"{skipped} notebook(s) did not run")
    say(summary_line(results))
    if stop.requested:
        return stop.exit_status()
    return 1 if any(r.status != "passed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
