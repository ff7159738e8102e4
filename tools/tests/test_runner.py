"""Self-tests of the runner (cnnkit-run): it must fail each bad notebook for the right reason.

These run the real evcxr kernel on the plain-Rust notebooks in tools/tests/notebooks/
(made by make_notebooks.py): one runner invocation for all of them, shared by the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from cnnkit_notebooks.kernel_env import evcxr_installed
from cnnkit_notebooks.rules import Reason

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
# The console script that `pip install -e tools` put beside this Python.
RUN = Path(sys.executable).parent / "cnnkit-run"
BAD = ["compile_error", "panic", "question_mark_err", "expect_error_but_compiles", "timeout"]
GOOD = ["good", "may_fail"]


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    if not evcxr_installed():
        pytest.fail("evcxr_jupyter is not installed: run `make setup`")
    out = tmp_path_factory.mktemp("nbrun")
    proc = subprocess.run(
        [str(RUN), str(NOTEBOOKS), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    by_name = {nb["name"]: nb for nb in report["notebooks"]}
    return proc, out, by_name


def failure(by_name, name):
    nb = by_name[name]
    assert nb["status"] == "failed", f"{name} should have failed"
    return nb["failure"]


def test_summary_line_and_exit_code(run):
    proc, _, by_name = run
    assert set(by_name) == {*GOOD, *BAD}
    assert proc.returncode == 1
    lines = proc.stdout.rstrip("\n").splitlines()
    assert lines[-1] == "2 passed, 5 failed", proc.stdout[-3000:]


def test_good_notebook_passes(run):
    _, out, by_name = run
    good = by_name["good"]
    assert good["status"] == "passed", good["failure"]
    assert good["cells_run"] == good["code_cells"] == 6
    # The expect-error cell did fail, and its compiler message is in the executed notebook.
    nb = json.loads((out / "executed" / "good.ipynb").read_text(encoding="utf-8"))
    raising = [c for c in nb["cells"] if "expect-error" in c["metadata"].get("tags", [])]
    assert [o["output_type"] for o in raising[0]["outputs"]] == ["error"]
    assert "mismatched types" in raising[0]["outputs"][0]["evalue"]


def test_compile_error(run):
    proc, _, by_name = run
    f = failure(by_name, "compile_error")
    assert f["reason"] == "compile error"
    assert (f["cell_index"], f["code_cell"]) == (1, 2)
    assert f["first_line"] == 'let b: i32 = "two";'
    assert "mismatched types" in f["message"]
    assert "expected `i32`, found `&str`" in f["message"]
    # The terminal report names notebook and cell and shows the compiler's message.
    assert "FAILED" in proc.stdout and "compile_error.ipynb cell 1 (code cell 2)" in proc.stdout
    assert "expected `i32`, found `&str`" in proc.stdout
    assert by_name["compile_error"]["cells_run"] == 2  # stopped at the failing cell


def test_panic(run):
    f = failure(run[2], "panic")
    assert f["reason"] == "panic"
    assert (f["cell_index"], f["first_line"]) == (1, "let i = 10;")
    assert "index out of bounds: the len is 3 but the index is 10" in f["message"]
    assert "stack backtrace" not in f["message"]


def test_question_mark_on_err(run):
    # evcxr itself reports this cell as successful; only its stderr shows the error.
    f = failure(run[2], "question_mark_err")
    assert f["reason"] == "stderr output"
    assert (f["cell_index"], f["first_line"]) == (1, 'println!("before the error");')
    assert "invalid digit found in string" in f["message"]


def test_timeout(run):
    nb = run[2]["timeout"]
    f = failure(run[2], "timeout")
    assert f["reason"] == "timeout"
    assert f["cell_index"] == 1
    assert "timeout of 3 s" in f["message"]
    assert nb["seconds"] < 120  # the 600 s sleep was cut short


def test_expect_error_cell_that_compiles_fails_the_notebook(run):
    f = failure(run[2], "expect_error_but_compiles")
    assert f["reason"] == "expect-error cell did not fail"
    assert (f["cell_index"], f["first_line"]) == (0, "let ok = 1 + 1;")
    assert "tagged `expect-error`" in f["message"]


def test_raises_exception_cells_may_fail_and_the_notebook_runs_on(run):
    """nbclient's meaning of the tag: a failing raises-exception cell does not fail anything."""
    proc, out, by_name = run
    nb = by_name["may_fail"]
    assert nb["status"] == "passed", nb["failure"]
    assert nb["cells_run"] == nb["code_cells"] == 5
    executed = nbformat.read(out / "executed" / "may_fail.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [o.output_type for o in code[1].outputs] == ["error"]  # the compile error
    assert "invalid digit found in string" in "".join(o.get("text", "") for o in code[2].outputs)
    assert "allowed by raises-exception" in proc.stdout


def test_report_json_reasons_are_values_of_the_reason_enum(run):
    expected = {
        "compile_error": Reason.COMPILE_ERROR,
        "panic": Reason.PANIC,
        "question_mark_err": Reason.STDERR,
        "expect_error_but_compiles": Reason.EXPECTED_ERROR_MISSING,
        "timeout": Reason.TIMEOUT,
    }
    got = {name: Reason(failure(run[2], name)["reason"]) for name in BAD}
    assert got == expected
    assert all(run[2][name]["failure"] is None for name in GOOD)


def test_outputs_written(run):
    _, out, by_name = run
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "2 passed, 5 failed" in index
    for name in by_name:
        assert (out / "html" / f"{name}.html").exists()
        assert (out / "executed" / f"{name}.ipynb").exists()
        assert f'href="html/{name}.html"' in index
    page = (out / "html" / "good.html").read_text(encoding="utf-8")
    if (out / "_static" / "mathjax" / "MathJax.js").exists():
        assert 'src="../_static/mathjax/MathJax.js?config=' in page
        assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in page


def test_math_renders_offline_in_chromium(run):
    """The page's `$2 \\times 2$` is typeset by the local MathJax (no network needed)."""
    _, out, _ = run
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if not (out / "_static" / "mathjax" / "MathJax.js").exists():
        pytest.skip("no local MathJax (make setup installs it)")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-quic", f"--user-data-dir={profile}",
               "--virtual-time-budget=10000", "--dump-dom", (out / "html" / "good.html").as_uri()]
        if os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert "mjx-chtml" in dom, "MathJax did not typeset the page"
    assert "MJXc-TeX" in dom
