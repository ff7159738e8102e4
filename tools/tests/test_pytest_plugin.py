"""The pytest plugin (`pytest --nbrun`): each notebook one item, JUnit output for free.

Runs pytest in a subprocess on two of the plain-Rust notebooks with the real evcxr kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnnkit_notebooks.kernel_env import evcxr_installed

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


def pytest_run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    if not evcxr_installed():
        pytest.fail("evcxr_jupyter is not installed: run `make setup`")
    tmp = tmp_path_factory.mktemp("plugin")
    xml = tmp / "notebooks.xml"
    proc = pytest_run(
        "--nbrun",
        f"--junitxml={xml}",
        f"--nbrun-out={tmp / 'out'}",
        "--nbrun-no-html",
        "-rf",
        str(NOTEBOOKS / "good.ipynb"),
        str(NOTEBOOKS / "compile_error.ipynb"),
        cwd=tmp,
    )
    return proc, xml, tmp / "out"


def test_a_good_and_a_failing_notebook_give_a_passed_and_a_failed_item(plugin_run):
    proc, _, _ = plugin_run
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 failed, 1 passed" in proc.stdout.splitlines()[-1]
    # The failure report names the cell, the reason and the compiler's message.
    assert "compile_error.ipynb: cell 1 (code cell 2): `let b: i32 = \"two\";`: compile error" in proc.stdout
    assert "reason: compile error (COMPILE_ERROR)" in proc.stdout
    assert "expected `i32`, found `&str`" in proc.stdout


def test_junit_xml_has_one_test_case_per_notebook(plugin_run):
    _, xml, _ = plugin_run
    root = ET.parse(xml).getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"good.ipynb", "compile_error.ipynb"}
    assert cases["good.ipynb"].find("failure") is None
    failure = cases["compile_error.ipynb"].find("failure")
    assert failure is not None and "compile error" in failure.get("message", "")
    props = {p.get("name"): p.get("value") for p in cases["compile_error.ipynb"].iter("property")}
    assert props["reason"] == "compile error" and props["cells_run"] == "2/3"


def test_nbrun_out_writes_what_the_runner_writes(plugin_run):
    _, _, out = plugin_run
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["passed"], report["failed"]) == (1, 1)
    by_name = {Path(nb["name"]).name: nb for nb in report["notebooks"]}
    assert by_name["compile_error"]["failure"]["reason"] == "compile error"
    assert (out / "index.html").exists()
    assert sorted(p.name for p in (out / "executed").rglob("*.ipynb")) == ["compile_error.ipynb", "good.ipynb"]


def test_without_nbrun_notebooks_are_not_collected(tmp_path):
    proc = pytest_run("--collect-only", "-q", str(NOTEBOOKS), cwd=tmp_path)
    assert proc.returncode == 5, proc.stdout  # pytest's "no tests collected"
