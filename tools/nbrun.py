#!/usr/bin/env python3
"""nbrun: runs the Rust notebooks headlessly with the real evcxr kernel and fails loudly.

    .venv/bin/python tools/nbrun.py                   # every notebook in notebooks/, full settings
    .venv/bin/python tools/nbrun.py --quick           # CNNKIT_QUICK=1 (what `make test` does)
    .venv/bin/python tools/nbrun.py notebooks/02_*.ipynb --out build/one

For each notebook it starts a fresh kernel `rust` (evcxr_jupyter) in the notebook's folder,
runs the code cells in order with nbclient, and writes into the output folder (default
build/):

    index.html                table of notebooks: status, time, links
    html/NAME.html            the executed notebook as a page (nbconvert, local MathJax)
    executed/NAME.ipynb       the executed notebook
    logs/NAME.kernel.log      what the kernel process itself printed (cargo builds of :dep)
    report.json               the same results for programs
    _static/mathjax/          MathJax, copied from .venv/share/mathjax by `make setup`

A cell FAILS when
  * evcxr reports an error: a compile error, a failed `:dep`, or the evaluation process
    dying (a panic with `preserve_vars_on_panic = false` in notebooks/evcxr.toml aborts it);
  * it writes anything but blank lines to stderr, unless it is tagged `allow-stderr`.
    evcxr reports success for a top-level `?` on an `Err` and only prints the error's
    Display text to stderr, and a panic caught by evcxr's default setting is only a
    message on stderr too. Cargo's build output for `:dep` and compiler warnings never
    reach a cell's stderr, so a clean cell has none;
  * it runs longer than its timeout (--timeout, or a tag `timeout=SECONDS` on the cell);
  * it is tagged `raises-exception` and does NOT fail by the rules above (such a cell
    shows a mistake on purpose, e.g. a shape error the compiler catches).
The first failing cell stops its notebook. The run ends with the line `N passed, N failed`
(notebooks) and exits with 1 if any notebook failed.

evcxr sends a cell's stderr lines asynchronously, so a line can arrive just after the cell
is reported done: the runner keeps listening for --grace seconds after each cell and also
files late output that arrives during the next cell under the cell it belongs to.

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

import argparse
import contextlib
import datetime as _dt
import fcntl
import fnmatch
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "rust"
TAG_RAISES = "raises-exception"
TAG_ALLOW_STDERR = "allow-stderr"
TAG_TIMEOUT = re.compile(r"^timeout=(\d+)$")
DEFAULT_TIMEOUT = 3600  # seconds per cell; a full training cell of the lecture takes minutes
DEFAULT_GRACE = 0.1  # seconds to wait for late stderr after each cell
MATHJAX_SRC = ROOT / ".venv" / "share" / "mathjax"
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"
EVCXR_CONFIG_DIR = ROOT / "tools" / "evcxr"
CARGO_PROFILE = EVCXR_CONFIG_DIR / "cargo-config.toml"
PANIC_LINE = re.compile(r"^thread '.*' .*panicked at ", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Failure:
    cell_index: int  # index in the notebook's cell list (markdown cells count)
    code_cell: int  # 1-based number among code cells
    first_line: str
    reason: str  # compile error | panic | stderr output | timeout | crash | kernel died | ...
    message: str

    def headline(self) -> str:
        if self.cell_index < 0:  # nothing ran: the kernel did not start
            return self.reason
        return f"cell {self.cell_index} (code cell {self.code_cell}): `{self.first_line}`: {self.reason}"


@dataclass
class NotebookResult:
    path: str
    name: str
    status: str = "failed"  # passed | failed
    seconds: float = 0.0
    code_cells: int = 0
    cells_run: int = 0
    failure: Failure | None = None
    html: str | None = None
    executed: str | None = None
    log: str | None = None
    cell_seconds: list[float] = field(default_factory=list)


def first_line(source: str, width: int = 70) -> str:
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


def pad(text: str, width: int) -> str:
    """Pads to a terminal width, counting Hangul and other wide characters as two columns."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)


def cell_timeout(cell: Any, default: int) -> int:
    for tag in cell.metadata.get("tags", []):
        m = TAG_TIMEOUT.match(tag)
        if m:
            return int(m.group(1))
    return default


def judge_cell(cell: Any) -> tuple[str, str] | None:
    """Returns (reason, message) when the cell's outputs show a failure, else None."""
    tags = cell.metadata.get("tags", [])
    stderr = "".join(
        o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    # A panic fails the cell even where stderr is allowed: with evcxr's default setting
    # (preserve_vars_on_panic = true) its message on stderr is the only sign of it.
    if PANIC_LINE.search(stderr):
        return "panic", panic_message(stderr)
    if errors:
        err = errors[0]
        evalue = strip_ansi(err.get("evalue", ""))
        traceback = strip_ansi("\n".join(err.get("traceback", []))).strip()
        if evalue.startswith("Subprocess terminated"):
            return "crash", (stderr.strip() + "\n" + evalue).strip()
        return "compile error", traceback or evalue
    if stderr.strip() and TAG_ALLOW_STDERR not in tags:
        return "stderr output", (
            "the cell wrote to stderr (a top-level `?` on an Err prints only the error's text there; "
            f"tag the cell `{TAG_ALLOW_STDERR}` if the output is intended):\n" + stderr.strip()
        )
    return None


def panic_message(stderr: str) -> str:
    """The panic's location line and message, without the backtrace evcxr always prints."""
    lines = stderr.strip("\n").splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if PANIC_LINE.search(line):
            out.append(line.strip())
            for more in lines[i + 1 :]:
                if more.startswith("stack backtrace:") or more.startswith("note: "):
                    break
                out.append(more)
            break
    return "\n".join(out) or stderr.strip()


# --------------------------------------------------------------------------------------------
# nbclient with late-output handling


class Client(NotebookClient):
    """NotebookClient that keeps late iopub output with the cell that produced it.

    nbclient stops reading a cell's output when the kernel reports idle and drops what
    arrives later for that cell. evcxr forwards stderr lines on a separate thread, so a
    `?` error message can arrive after idle. We remember which request belongs to which
    cell and add late output to that cell (see `late_cells`).
    """

    def __init__(self, *args: Any, echo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_cells: dict[str, tuple[Any, int]] = {}
        self.late_cells: set[int] = set()
        self.echo = echo
        self.echoed = False  # whether the current cell printed anything (with --echo)

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if self.echo and msg.get("msg_type") == "stream":
            if not self.echoed:
                say()
                self.echoed = True
            for line in msg["content"].get("text", "").splitlines():
                say(f"         {'!' if msg['content'].get('name') == 'stderr' else '|'} {line}")
        return super().process_message(msg, cell, cell_index)

    def _file_late(self, msg: dict[str, Any]) -> None:
        parent = msg.get("parent_header", {}).get("msg_id")
        if parent not in self.request_cells:
            return
        if msg["msg_type"] not in ("stream", "error", "display_data", "execute_result"):
            return
        cell, index = self.request_cells[parent]
        with contextlib.suppress(CellExecutionComplete):
            self.process_message(msg, cell, index)
        self.late_cells.add(index)

    async def _async_poll_output_msg(self, parent_msg_id: str, cell: Any, cell_index: int) -> None:
        # Same as nbclient 0.11's, plus filing output of earlier cells instead of dropping it.
        assert self.kc is not None
        self.request_cells[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            else:
                self._file_late(msg)

    async def async_drain(self, grace: float) -> None:
        """Reads iopub until it has been quiet for `grace` seconds."""
        assert self.kc is not None
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=grace))
            except Empty:
                return
            self._file_late(msg)

    drain = run_sync(async_drain)


# --------------------------------------------------------------------------------------------
# Shared evcxr folders


def evcxr_base() -> Path:
    """The folder that holds the kernels' build folders (and their cargo settings)."""
    return Path(os.environ.get("NBRUN_EVCXR_DIR") or cache_home() / "cnnkit-notebooks")


def install_cargo_profile(base: Path) -> None:
    """Puts tools/evcxr/cargo-config.toml at base/.cargo/config.toml, where cargo finds it
    for every build folder below `base` (release settings for the cells' dependencies)."""
    target = base / ".cargo" / "config.toml"
    text = CARGO_PROFILE.read_text(encoding="utf-8")
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


@contextlib.contextmanager
def evcxr_tmpdir(enabled: bool):
    """Yields a fixed EVCXR_TMPDIR under ~/.cache that no other runner uses now, or None."""
    if not enabled:
        yield None
        return
    base = evcxr_base()
    install_cargo_profile(base)
    for slot in range(8):
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


# --------------------------------------------------------------------------------------------
# Running one notebook


def say(text: str = "", end: str = "\n") -> None:
    print(text, end=end, flush=True)


def indent(text: str, prefix: str = "    | ", limit: int = 60) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines in the HTML page)"]
    return "\n".join(prefix + line for line in lines)


def run_notebook(
    path: Path,
    name: str,
    out: Path,
    env: dict[str, str],
    timeout: int,
    grace: float,
    startup_timeout: int,
    echo: bool = False,
) -> tuple[NotebookResult, Any]:
    result = NotebookResult(path=str(path), name=name)
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    result.code_cells = len(code)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log_path = out / "logs" / f"{name}.kernel.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result.log = str(log_path)

    client = Client(
        nb,
        echo=echo,
        kernel_name=KERNEL,
        timeout=timeout,
        timeout_func=lambda cell: cell_timeout(cell, timeout),
        startup_timeout=startup_timeout,
        allow_errors=True,  # this runner judges errors itself
        interrupt_on_timeout=False,
        record_timing=True,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    started = time.monotonic()
    failure: Failure | None = None
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            with client.setup_kernel(env=env, stdout=log, stderr=subprocess.STDOUT):
                for n, index in enumerate(code, start=1):
                    cell = nb.cells[index]
                    tags = cell.metadata.get("tags", [])
                    line = first_line(cell.source)
                    say(f"  [{n:>2}/{len(code)}] {pad(line, 70)} ", end="")
                    t0 = time.monotonic()
                    client.echoed = False
                    if "skip-execution" in tags:
                        say("skipped (tag skip-execution)")
                        result.cell_seconds.append(0.0)
                        continue
                    try:
                        client.execute_cell(cell, index)
                        client.drain(grace)
                    except CellTimeoutError:
                        secs = cell_timeout(cell, timeout)
                        failure = Failure(index, n, line, "timeout", f"the cell ran longer than its timeout of {secs} s")
                        client.shutdown_kernel = "immediate"
                    except DeadKernelError as exc:
                        failure = Failure(index, n, line, "kernel died", f"the kernel process died: {exc}")
                        client.shutdown_kernel = "immediate"
                    dt = time.monotonic() - t0
                    if client.echoed:  # the cell's output went to the terminal: new line for the verdict
                        say(f"         -> ", end="")
                    result.cell_seconds.append(round(dt, 2))
                    result.cells_run = n
                    # Output of an earlier cell that arrived late can still fail that cell.
                    for late in sorted(client.late_cells):
                        if late == index or failure:
                            continue
                        verdict = judge_cell(nb.cells[late])
                        if verdict and TAG_RAISES not in nb.cells[late].metadata.get("tags", []):
                            k = code.index(late) + 1
                            failure = Failure(late, k, first_line(nb.cells[late].source), *verdict)
                    client.late_cells.clear()
                    if failure is None:
                        verdict = judge_cell(cell)
                        if TAG_RAISES in tags:
                            if verdict is None:
                                failure = Failure(
                                    index,
                                    n,
                                    line,
                                    "raises-exception cell did not fail",
                                    f"the cell is tagged `{TAG_RAISES}` but ran without an error",
                                )
                            else:
                                say(f"ok, failed as expected ({verdict[0]}) {dt:6.1f} s")
                                continue
                        elif verdict is not None:
                            failure = Failure(index, n, line, *verdict)
                    if failure is not None:
                        say(f"FAILED ({failure.reason}) {dt:.1f} s")
                        break
                    say(f"ok {dt:6.1f} s")
        except Exception as exc:  # the kernel did not start, or nbclient broke
            if failure is None:
                failure = Failure(-1, 0, "", "kernel error", f"{type(exc).__name__}: {exc}")
                say(f"\n  ERROR: {type(exc).__name__}: {exc}")
    result.seconds = round(time.monotonic() - started, 1)
    result.failure = failure
    result.status = "failed" if failure else "passed"
    return result, nb


# --------------------------------------------------------------------------------------------
# Output files


def install_mathjax(out: Path) -> str | None:
    """Copies the local MathJax into out/_static; returns its URL relative to out/html/."""
    if not (MATHJAX_SRC / "MathJax.js").exists():
        return None
    dest = out / "_static" / "mathjax"
    version = (MATHJAX_SRC / "VERSION").read_text().strip() if (MATHJAX_SRC / "VERSION").exists() else ""
    have = (dest / "VERSION").read_text().strip() if (dest / "VERSION").exists() else None
    if have != version or not (dest / "MathJax.js").exists():
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(MATHJAX_SRC, dest)
    return f"../_static/mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def write_ipynb(result: NotebookResult, nb: Any, out: Path) -> None:
    executed = out / "executed" / f"{result.name}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed)
    result.executed = str(executed)


def write_outputs(result: NotebookResult, nb: Any, out: Path, mathjax_url: str | None) -> None:
    from nbconvert import HTMLExporter

    write_ipynb(result, nb, out)
    page = out / "html" / f"{result.name}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    if mathjax_url:
        # mathjax_url is relative to out/html/; pages in subfolders need more `../`.
        depth = len(Path(result.name).parts) - 1
        exporter.mathjax_url = "../" * depth + mathjax_url
    # evcxr outputs need no require.js; an empty URL keeps the page from asking a CDN for it.
    exporter.require_js_url = ""
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(result.name).name}})
    page.write_text(body, encoding="utf-8")
    result.html = str(page)


def rel(path: str | None, out: Path) -> str | None:
    return os.path.relpath(path, out) if path else None


def write_index(results: list[NotebookResult], out: Path, mode: str, started: str, total: float) -> Path:
    passed = sum(r.status == "passed" for r in results)
    failed = len(results) - passed
    rows = []
    for i, r in enumerate(results, start=1):
        links = " · ".join(
            f'<a href="{html.escape(rel(p, out))}">{label}</a>'
            for label, p in (("page", r.html), ("executed .ipynb", r.executed), ("kernel log", r.log))
            if p
        )
        name = f'<a href="{html.escape(rel(r.html, out))}">{html.escape(r.name)}</a>' if r.html else html.escape(r.name)
        if r.failure:
            f = r.failure
            status = (
                f'<span class="failed">failed</span><div class="why">{html.escape(f.headline())}</div>'
                f"<pre>{html.escape(f.message[:4000])}</pre>"
            )
        else:
            status = '<span class="passed">passed</span>'
        rows.append(
            f"<tr><td>{i}</td><td>{name}</td><td>{status}</td><td class=\"num\">{r.seconds:.1f} s</td>"
            f"<td class=\"num\">{r.cells_run}/{r.code_cells}</td><td>{links}</td></tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="6">No notebooks found.</td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8">
<title>Chapter 14 notebooks: {passed} passed, {failed} failed</title>
<style>
body {{ font-family: system-ui, "Nanum Gothic", sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .45em .6em; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
.passed {{ color: #167a1e; font-weight: 600; }}
.failed {{ color: #b00020; font-weight: 700; }}
.why {{ margin-top: .3em; }}
pre {{ background: #fff5f5; padding: .5em; max-height: 20em; max-width: 52em; overflow: auto;
       font-size: 85%; white-space: pre-wrap; }}
td.num {{ white-space: nowrap; }}
.meta {{ color: #555; }}
</style></head><body>
<h1>Chapter 14 (CNN) notebooks — Rust / evcxr</h1>
<p class="meta">Run started {html.escape(started)} · mode: {html.escape(mode)} ·
total {total:.0f} s · <b>{passed} passed, {failed} failed</b></p>
<table>
<tr><th>#</th><th>notebook</th><th>status</th><th>time</th><th>code cells run</th><th>files</th></tr>
{body}
</table>
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# --------------------------------------------------------------------------------------------


def find_notebooks(paths: list[str], exclude: list[str] | None = None) -> list[tuple[Path, str]]:
    """(path, name) of each notebook. A folder is searched recursively, in sorted path order
    (notebooks/00_... before notebooks/exercises/...); the name is the path relative to
    that folder without `.ipynb` (e.g. `exercises/ex01_x`) and names the output files."""
    if not paths:
        paths = [str(ROOT / "notebooks")]
    found: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if p.is_dir():
            for q in sorted(p.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in q.parts:
                    found.append((q, q.relative_to(p).with_suffix("").as_posix()))
        elif p.exists():
            found.append((p, p.stem))
        else:
            raise SystemExit(f"nbrun: no such notebook or folder: {p}")
    if exclude:
        found = [(q, name) for q, name in found if not any(fnmatch.fnmatch(name, pat) for pat in exclude)]
    names = [name for _, name in found]
    for name in set(names):
        if names.count(name) > 1:
            raise SystemExit(f"nbrun: two notebooks would write the same output files: {name}")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Run Rust notebooks headlessly with the evcxr kernel; fail on errors.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/)")
    ap.add_argument("--out", default=str(ROOT / "build"), help="output folder (default: build/)")
    ap.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("QUICK", "") not in ("", "0"),
        help="quick mode: CNNKIT_QUICK=1 in the kernels (default when QUICK=1 is set)",
    )
    ap.add_argument(
        "--timeout",
        type=int,
        default=int(os.environ.get("NBRUN_TIMEOUT", DEFAULT_TIMEOUT)),
        help=f"seconds per cell (default {DEFAULT_TIMEOUT}, or NBRUN_TIMEOUT); a cell tag timeout=N overrides it",
    )
    ap.add_argument("--grace", type=float, default=DEFAULT_GRACE, help="seconds to wait for late stderr per cell")
    ap.add_argument("--startup-timeout", type=int, default=180, help="seconds to wait for a kernel to start")
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
    ap.add_argument("--report", help="also write the JSON report to this file")
    ap.add_argument(
        "--echo",
        action="store_true",
        default=os.environ.get("NBRUN_ECHO", "") not in ("", "0"),
        help="print the cells' stdout/stderr while they run (e.g. training progress; or NBRUN_ECHO=1)",
    )
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    notebooks = find_notebooks(args.paths, args.exclude)
    mode = "quick (CNNKIT_QUICK=1)" if args.quick else "full"
    started = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    say(f"nbrun: {len(notebooks)} notebook(s), mode {mode}, cell timeout {args.timeout} s, output {out}")
    if shutil.which("evcxr_jupyter") is None and not (Path.home() / ".cargo/bin/evcxr_jupyter").exists():
        say("nbrun: evcxr_jupyter not found: run `make setup` first")
    mathjax_url = None if args.no_html else install_mathjax(out)
    if not args.no_html and mathjax_url is None:
        say("nbrun: no local MathJax in .venv/share/mathjax (run `make setup`): pages load it from a CDN")

    results: list[NotebookResult] = []
    t_all = time.monotonic()
    with evcxr_tmpdir(not args.no_shared_target) as tmpdir:
        env = kernel_env(args.quick, tmpdir, not args.no_cache)
        if tmpdir:
            say(f"nbrun: shared evcxr folder {tmpdir}")
        for k, (path, name) in enumerate(notebooks, start=1):
            say(f"\n[{k}/{len(notebooks)}] {os.path.relpath(path)}")
            result, nb = run_notebook(
                path, name, out, env, args.timeout, args.grace, args.startup_timeout, args.echo
            )
            try:
                if args.no_html:
                    write_ipynb(result, nb, out)
                else:
                    write_outputs(result, nb, out, mathjax_url)
            except Exception as exc:  # an export problem must not hide the run's result
                say(f"  (could not write outputs: {type(exc).__name__}: {exc})")
            results.append(result)
            if result.failure:
                f = result.failure
                say(f"  FAILED {os.path.relpath(path)} {f.headline()}")
                say(indent(f.message))
            say(f"  {result.status} in {result.seconds:.1f} s ({result.cells_run}/{result.code_cells} code cells)")
    total = time.monotonic() - t_all

    passed = sum(r.status == "passed" for r in results)
    failed = len(results) - passed
    index = write_index(results, out, mode, started, total)
    report = {
        "mode": "quick" if args.quick else "full",
        "started": started,
        "seconds": round(total, 1),
        "passed": passed,
        "failed": failed,
        "notebooks": [asdict(r) for r in results],
    }
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")

    say("\n" + "=" * 78)
    for r in results:
        mark = "passed" if r.status == "passed" else "FAILED"
        extra = f"  {r.failure.headline()}" if r.failure else ""
        say(f"{mark:>6}  {r.seconds:7.1f} s  {os.path.relpath(r.path)}{extra}")
    if not results:
        say("no notebooks found")
    say(f"total {total:.1f} s; open {index}")
    say(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
