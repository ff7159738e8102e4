"""What a run leaves behind in its output folder (default build/):

    index.html                table of notebooks: status, time, links
    html/NAME.html            the executed notebook as a page (nbconvert, local MathJax)
    executed/NAME.ipynb       the executed notebook
    logs/NAME.kernel.log      what the kernel process itself printed (cargo builds of :dep)
    report.json               the same results for programs
    _static/mathjax/          MathJax, copied from .venv/share/mathjax by `make setup`
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import nbformat

from .paths import MATHJAX_SRC

if TYPE_CHECKING:
    from .run import NotebookResult

MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"


def summary_line(results: Sequence[NotebookResult]) -> str:
    """The closing line of every run: `N passed, N failed`."""
    passed = sum(r.status == "passed" for r in results)
    return f"{passed} passed, {len(results) - passed} failed"


class Outputs:
    """The output folder of one run: `log_path` before a notebook runs, `write` after it,
    `finish` at the end (index.html and report.json)."""

    def __init__(self, out: Path, html_pages: bool = True) -> None:
        self.out = Path(out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.html_pages = html_pages
        self.mathjax_url = install_mathjax(self.out) if html_pages else None

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
        return index


def mode_text(quick: bool) -> str:
    return "quick (CNNKIT_QUICK=1)" if quick else "full"


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
    page.write_text(body, encoding="utf-8")
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
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


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
    index.write_text(page, encoding="utf-8")
    return index
