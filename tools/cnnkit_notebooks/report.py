"""What a run leaves behind in its output folder (default build/):

    index.html                table of notebooks: status, time, links
    html/NAME.html            the executed notebook as a page (nbconvert, local MathJax)
    executed/NAME.ipynb       the executed notebook
    logs/NAME.kernel.log      what the kernel process itself printed (cargo builds of :dep)
    report.json               the same results for programs
    _static/mathjax/          MathJax, copied from .venv/share/mathjax by `make setup`
    .lock                     held by the run that writes into the folder now

Two runs with the same output folder (two `make run` at once) would write the same files:
the second one waits for the first (`FolderLock`, it says so and names the other run),
and MathJax is installed into a temporary folder and renamed into place, so a run that
finds a complete copy, or loses the race to another, never sees half a copy. Every file is
written to a temporary name and renamed, so a reader never sees half a page.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import html
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import nbformat

from .console import say
from .paths import MATHJAX_SRC
from .processes import STOP

if TYPE_CHECKING:
    from .run import NotebookResult

MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"


def summary_line(results: Sequence[NotebookResult]) -> str:
    """The closing line of every run: `N passed, N failed`."""
    passed = sum(r.status == "passed" for r in results)
    return f"{passed} passed, {len(results) - passed} failed"


class Stopped(Exception):
    """SIGINT or SIGTERM came while the run waited for another run's output folder."""


class FolderLock:
    """An exclusive lock on an output folder (the file `.lock` in it, flock). When another
    run holds it, this waits, saying who holds it, until it is free; a stop request
    (`processes.STOP`) while it waits raises Stopped."""

    def __init__(self, folder: Path, prog: str, progress: Callable[..., None] | None = say, poll: float = 0.25) -> None:
        self.path = folder / ".lock"
        self.path.touch(exist_ok=True)
        self._fh = open(self.path, "r+", encoding="utf-8")
        self.waited = 0.0
        if not self._try():
            self._fh.seek(0)
            holder = self._fh.read().strip() or "another run"
            if progress:
                progress(
                    f"{prog}: the output folder {folder} is in use by {holder}. This run waits until that run "
                    "has finished, so that the two do not write the same files (Ctrl-C stops waiting; "
                    "--out DIR gives this run a folder of its own)."
                )
            t0 = time.monotonic()
            while not self._try():
                if STOP.requested:
                    self.release()
                    raise Stopped(f"stopped by {STOP.name} while waiting for {holder}")
                time.sleep(poll)
            self.waited = time.monotonic() - t0
            if progress:
                progress(f"{prog}: the other run has finished (waited {self.waited:.0f} s); this run goes on")
        started = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        command = " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]) if sys.argv else prog
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"pid {os.getpid()} ({command}, since {started})\n")
        self._fh.flush()

    def _try(self) -> bool:
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fh.closed:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


class Outputs:
    """The output folder of one run: `log_path` before a notebook runs, `write` after it,
    `finish` at the end (index.html and report.json). It holds the folder's lock from its
    creation to `finish` (or `close`)."""

    def __init__(self, out: Path, html_pages: bool = True, prog: str = "cnnkit-run",
                 progress: Callable[..., None] | None = say) -> None:
        self.out = Path(out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.lock = FolderLock(self.out, prog, progress)
        self.html_pages = html_pages
        try:
            self.mathjax_url = install_mathjax(self.out) if html_pages else None
        except BaseException:
            self.lock.release()
            raise

    def log_path(self, name: str) -> Path:
        path = self.out / "logs" / f"{name}.kernel.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, result: NotebookResult) -> str | None:
        """Writes the executed notebook (and its page); returns a problem, or None. An export
        problem must not hide the run's result, so it is reported, not raised."""
        nb = result.nb
        if nb is None:  # the notebook could not be read
            return None
        try:
            write_ipynb(result, nb, self.out)
            if self.html_pages:
                write_page(result, nb, self.out, self.mathjax_url)
        except Exception as exc:
            return f"could not write outputs: {type(exc).__name__}: {exc}"
        return None

    def finish(self, results: Sequence[NotebookResult], quick: bool, started: str, seconds: float) -> Path:
        """Writes index.html and report.json; returns the index page."""
        index = write_index(results, self.out, mode_text(quick), started, seconds)
        write_report(results, self.out / "report.json", "quick" if quick else "full", started, seconds)
        self.close()
        return index

    def close(self) -> None:
        """Lets other runs have the folder."""
        self.lock.release()


def mode_text(quick: bool) -> str:
    return "quick (CNNKIT_QUICK=1)" if quick else "full"


def _mathjax_version(folder: Path) -> str | None:
    """The VERSION of a complete MathJax copy ("" without that file), None if incomplete."""
    if not (folder / "MathJax.js").exists():
        return None
    version = folder / "VERSION"
    try:
        return version.read_text().strip() if version.exists() else ""
    except OSError:
        return None


def install_mathjax(out: Path, src: Path | None = None) -> str | None:
    """Copies the local MathJax into out/_static; returns its URL relative to out/html/.

    The copy goes into a temporary folder beside the destination and is renamed into place
    (one rename, atomic), so the destination is either absent or complete. If another run
    renamed its copy in first and it is the right version, that one is kept; an outdated
    copy is renamed aside and deleted."""
    src = MATHJAX_SRC if src is None else src
    want = _mathjax_version(src)
    if want is None:
        return None
    url = f"../_static/mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    static = out / "_static"
    dest = static / "mathjax"
    if _mathjax_version(dest) == want:
        return url
    static.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".mathjax-new-", dir=static))
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        for _ in range(20):
            try:
                os.rename(tmp, dest)  # fails if dest exists (as a non-empty folder)
                return url
            except OSError:
                if _mathjax_version(dest) == want:  # a concurrent run installed it
                    return url
                old = static / f".mathjax-old-{os.getpid()}-{time.monotonic_ns()}"
                with contextlib.suppress(FileNotFoundError):
                    os.rename(dest, old)
                shutil.rmtree(old, ignore_errors=True)
        raise OSError(f"could not install MathJax into {dest}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Writes to a temporary file beside `path`, then renames it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_ipynb(result: NotebookResult, nb: Any, out: Path) -> None:
    executed = out / "executed" / f"{result.name}.ipynb"
    write_text_atomic(executed, nbformat.writes(nb))
    result.executed = str(executed)


def write_page(result: NotebookResult, nb: Any, out: Path, mathjax_url: str | None) -> None:
    from nbconvert import HTMLExporter

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
    write_text_atomic(page, body)
    result.html = str(page)


def rel(path: str | None, out: Path) -> str | None:
    return os.path.relpath(path, out) if path else None


def report_data(results: Sequence[NotebookResult], mode: str, started: str, seconds: float) -> dict[str, Any]:
    passed = sum(r.status == "passed" for r in results)
    return {
        "mode": mode,
        "started": started,
        "seconds": round(seconds, 1),
        "passed": passed,
        "failed": len(results) - passed,
        "notebooks": [r.to_dict() for r in results],
    }


def write_report(results: Sequence[NotebookResult], path: Path, mode: str, started: str, seconds: float) -> None:
    data = report_data(results, mode, started, seconds)
    write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False))


def write_index(results: Sequence[NotebookResult], out: Path, mode: str, started: str, total: float) -> Path:
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
    write_text_atomic(index, page)
    return index
