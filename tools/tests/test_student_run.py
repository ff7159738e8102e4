"""`cnnkit-student check` and `grade` run notebooks with the real evcxr kernel, then read the
verdicts of the check cells (nbgrader metadata) from the outputs.

The homework here is plain Rust (no cnnkit), written in the instructor notebooks' format, so
the three kernel runs take seconds; test_exercises.py does the same with the real exercises.
"""

from __future__ import annotations

import copy
import csv
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnkit_notebooks import student
from cnnkit_notebooks.kernel_env import evcxr_installed

TASK = """fn answer() -> Option<u32> {
    // BEGIN SOLUTION
    Some(42)
    // END SOLUTION
    // BEGIN PLACEHOLDER
    // None
    // END PLACEHOLDER
}"""

CHECKER = """fn check_answer(f: fn() -> Option<u32>) -> &'static str {
    match f() {
        Some(42) => "✅ 정답입니다! (hw)",
        None => "⏳ 아직 풀지 않았습니다 (hw)",
        Some(_) => "❌ 틀렸습니다 (hw)",
    }
}"""


def _meta(cell, **nbgrader):
    cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def instructor_notebook():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 숙제"),
            _meta(new_code_cell(TASK), solution=True, grade=False, locked=False, grade_id="answer"),
            new_code_cell(CHECKER),
            _meta(new_code_cell("check_answer(answer)"), solution=False, grade=True, locked=True, points=3,
                  grade_id="answer_check"),
            _meta(new_code_cell("check_answer(answer)"), solution=False, grade=True, locked=True, points=2,
                  grade_id="answer_check_again"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
    return nb


@pytest.fixture(scope="module")
def homework(tmp_path_factory):
    if not evcxr_installed():
        pytest.fail("evcxr_jupyter is not installed: run `make setup`")
    root = tmp_path_factory.mktemp("homework")
    (root / "source").mkdir()
    nbformat.write(instructor_notebook(), root / "source" / "hw.ipynb")
    assert student.main(["build", str(root / "source"), "-o", str(root / "student")]) == 0
    return root


def test_check_runs_a_student_notebook_and_reports_every_check(homework, capsys):
    broken = nbformat.read(homework / "student" / "hw.ipynb", as_version=4)
    broken.cells[1].source = broken.cells[1].source.replace("None", 'Some("42")')  # does not compile
    nbformat.write(broken, homework / "student" / "broken.ipynb")
    rc = student.main(["check", str(homework / "student"), "--out", str(homework / "check")])
    out = capsys.readouterr().out
    assert rc == 1  # nothing is solved yet
    assert "hw.ipynb / answer_check" in out and "not-done" in out
    assert "total 0/10 points" in out  # 5 points in each notebook, from its own metadata
    # The broken notebook's task cell does not compile; checking goes on, and each check
    # cell fails on its own (its function does not exist): an error, no points.
    assert "broken.ipynb: cell 1 (code cell 1)" in out and "compile error" in out
    assert re.search(r"broken\.ipynb / answer_check +error", out), out
    assert "broken.ipynb: cell 4 (code cell 4)" in out
    assert (homework / "check" / "executed" / "hw.ipynb").exists()


def test_grade_runs_the_submission_and_scores_it_against_the_instructor_notebook(homework, capsys):
    kim = homework / "submitted" / "kim"
    kim.mkdir(parents=True)
    nb = copy.deepcopy(instructor_notebook())
    nb.cells[1].source = "fn answer() -> Option<u32> {\n    Some(40 + 2)\n}"
    nb.cells[4].source = '"✅ 정답입니다! (hw)"'  # a forged check cell earns nothing
    nbformat.write(nb, kim / "hw.ipynb")
    grades = homework / "kim.csv"
    rc = student.main(["grade", str(kim), "--source", str(homework / "source"), "--out", str(homework / "graded"),
                       "--csv", str(grades)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "total 3/5 points" in out
    assert "hw.ipynb / answer_check_again" in out and "(check cell modified!)" in out
    rows = list(csv.DictReader(grades.open(encoding="utf-8")))
    assert [(r["grade_id"], r["verdict"], r["earned"]) for r in rows] == [
        ("answer_check", "correct", "3.0"),
        ("answer_check_again", "correct", "0.0"),
    ]
    # The executed submission stays for the instructor; grading it again needs no kernel.
    executed = homework / "graded" / "executed"
    assert (executed / "hw.ipynb").exists()
    assert student.main(["grade", "--executed", str(executed), "--source", str(homework / "source")]) == 0
    assert "total 3/5 points" in capsys.readouterr().out
