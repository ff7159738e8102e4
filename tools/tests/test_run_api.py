"""The run API (`NotebookRun(...).execute() -> NotebookResult`) on nbclient's hooks.

Fast: these use the venv's Python kernel (ipykernel, which JupyterLab brings along), not
evcxr, so they run in seconds and without `make setup`'s cargo install. The Python cells
imitate what evcxr does (output that arrives after the cell is reported done, with the
cell's own request as parent); test_runner.py runs the real evcxr kernel.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnkit_notebooks.report import Outputs
from cnnkit_notebooks.rules import Reason
from cnnkit_notebooks.run import NotebookRun


def _python_kernel() -> str:
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 kernel spec (ipykernel) in this venv")
    return "python3"


def _write(tmp_path, name, *cells):
    nb = new_notebook(cells=list(cells))
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def code(source, *tags):
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def run(path, **kwargs):
    return NotebookRun(path, kernel_name=_python_kernel(), progress=None, **kwargs).execute()


# A cell that sends stderr text 0.2 s after it finished, addressed to its own request: what
# evcxr's stderr thread does with a `?` error at the end of a cell.
LATE_STDERR = '''import threading, time
kernel = get_ipython().kernel
parent = kernel.get_parent()
def late():
    time.sleep(0.2)
    kernel.session.send(kernel.iopub_socket, "stream", {"name": "stderr", "text": "late line\\n"}, parent=parent)
threading.Thread(target=late).start()'''


def test_a_clean_notebook_passes_with_its_numbers(tmp_path):
    path = _write(tmp_path, "ok", new_markdown_cell("# title"), code("x = 1"), code("print(x)"), code(""))
    result = run(path)
    assert result.passed and result.failure is None
    assert (result.code_cells, result.cells_run, len(result.cell_seconds)) == (2, 2, 2)
    assert result.nb.cells[2].outputs[0]["text"] == "1\n"
    assert json.loads(json.dumps(result.to_dict()))["status"] == "passed"


def test_late_output_during_the_next_cell_fails_the_cell_it_belongs_to(tmp_path):
    path = _write(tmp_path, "late", code(LATE_STDERR), code("import time; time.sleep(0.8)"), code("3"))
    result = run(path, grace=0.01)
    f = result.failure
    assert (f.reason, f.cell_index, f.code_cell) == (Reason.STDERR, 0, 1)
    assert "late line" in f.message
    assert result.cells_run == 2  # found while cell 2 ran; cell 3 never ran
    assert [o["text"] for o in result.nb.cells[0].outputs] == ["late line\n"]
    assert result.nb.cells[1].outputs == []


def test_late_output_within_the_grace_period_is_caught_at_once(tmp_path):
    path = _write(tmp_path, "late", code(LATE_STDERR), code("3"))
    result = run(path, grace=0.6)
    assert (result.failure.reason, result.failure.cell_index) == (Reason.STDERR, 0)
    assert result.cells_run == 1


def test_late_output_of_an_allowed_cell_does_not_fail(tmp_path):
    allowed = code(LATE_STDERR, "allow-stderr")
    result = run(_write(tmp_path, "late", allowed, code("import time; time.sleep(0.8)")), grace=0.01)
    assert result.passed, result.failure


def test_timeout_tag_and_kernel_error_and_invalid_notebook(tmp_path):
    result = run(_write(tmp_path, "slow", code("x = 1"), code("import time; time.sleep(60)", "timeout=2"), code("x")))
    assert (result.failure.reason, result.failure.cell_index) == (Reason.TIMEOUT, 1)
    assert "timeout of 2 s" in result.failure.message
    assert result.seconds < 30 and result.cells_run == 2

    result = NotebookRun(_write(tmp_path, "k", code("1")), kernel_name="no-such-kernel", progress=None).execute()
    assert (result.failure.reason, result.failure.cell_index) == (Reason.KERNEL_ERROR, -1)
    assert result.failure.headline() == "kernel error"

    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json", encoding="utf-8")
    result = NotebookRun(bad, progress=None).execute()
    assert result.failure.reason is Reason.INVALID_NOTEBOOK and result.nb is None
    bad.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"x": 1}]}))
    assert NotebookRun(bad, progress=None).execute().failure.reason is Reason.INVALID_NOTEBOOK


def test_first_failure_stops_the_notebook_and_skip_execution_skips(tmp_path):
    path = _write(tmp_path, "stop", code("x = 1"), code("y", "skip-execution"), code("1 / 0"), code("x"))
    result = run(path)
    assert (result.failure.reason, result.failure.cell_index, result.failure.code_cell) == (Reason.COMPILE_ERROR, 2, 3)
    assert result.cells_run == 3 and result.cell_seconds[1] == 0.0
    assert result.nb.cells[1].outputs == [] and result.nb.cells[3].outputs == []


def test_report_json_carries_the_reason_values(tmp_path):
    path = _write(tmp_path, "stop", code("import sys; sys.stderr.write('oops')"))
    result = run(path)
    out = Outputs(tmp_path / "out", html_pages=False)
    assert out.write(result) is None
    out.finish([result], quick=False, started="now", seconds=1.0)
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    failure = data["notebooks"][0]["failure"]
    assert failure["reason"] == "stderr output" and Reason(failure["reason"]) is Reason.STDERR
    assert (data["passed"], data["failed"]) == (0, 1)
    assert (tmp_path / "out" / "executed" / "stop.ipynb").exists()
