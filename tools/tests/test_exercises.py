"""End-to-end test of the homework notebooks, both sides, with the real evcxr kernel.

* The instructor notebooks in notebooks/exercises/ run to the end (cnnkit-run, quick
  mode) and every check cell shows the verdict 정답입니다!.
* The student notebooks that cnnkit-student generates (into build/student/, the
  folder `make student` uses) run to the end too, and every check cell, and only those,
  shows 아직 풀지 않았습니다: no crash, no 정답입니다!.
* In grading mode (CNNKIT_GRADING=1, for nbgrader) a student notebook's check cells end
  with an error, so nbgrader gives them zero points, and the notebook still runs on after
  each of them.

Executed notebooks are kept in build/test/exercises/ for inspection. Takes a few minutes
(twelve notebook runs; the Fashion-MNIST check trains a small CNN on 2,000 images).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnnkit_notebooks import kernel_env
from cnnkit_notebooks import student as ms
from cnnkit_notebooks.paths import BUILD, EXERCISES

STUDENT = BUILD / "student"
OUT = BUILD / "test" / "exercises"
RUN = Path(sys.executable).parent / "cnnkit-run"


def _require_kernel() -> None:
    if not kernel_env.evcxr_installed():
        pytest.fail("evcxr_jupyter is not installed: run `make setup`")


def _nbrun(paths: list[Path], out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    _require_kernel()
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [str(RUN), "--quick", "--no-html", "--out", str(out), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    report_path = out / "report.json"
    assert report_path.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(report_path.read_text(encoding="utf-8"))


def _verdicts(out: Path) -> dict[str, list[tuple[str, str]]]:
    """(grade_id, verdict) of every check cell, per executed notebook."""
    found = {}
    for path in sorted((out / "executed").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found[path.name] = [(ms.nbgrader(c)["grade_id"], ms.verdict(c)) for c in nb.cells if ms.is_check(c)]
    return found


def _check_counts() -> dict[str, int]:
    return {
        p.name: ms.validate(nbformat.read(p, as_version=4), p.name).checks for p in sorted(EXERCISES.glob("*.ipynb"))
    }


@pytest.fixture(scope="module")
def instructor_run():
    return _nbrun(sorted(EXERCISES.glob("*.ipynb")), OUT / "instructor")


@pytest.fixture(scope="module")
def student_run():
    shutil.rmtree(STUDENT, ignore_errors=True)
    ms.generate(sorted(EXERCISES.glob("*.ipynb")), STUDENT)
    return _nbrun(sorted(STUDENT.glob("*.ipynb")), OUT / "student")


def test_instructor_notebooks_pass_every_check(instructor_run):
    proc, report = instructor_run
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert report["failed"] == 0 and report["passed"] == len(_check_counts())
    verdicts = _verdicts(OUT / "instructor")
    assert {name: len(v) for name, v in verdicts.items()} == _check_counts()
    wrong = [(name, gid, v) for name, vs in verdicts.items() for gid, v in vs if v != "correct"]
    assert not wrong, f"check cells without 정답입니다!: {wrong}"


def test_student_notebooks_run_and_report_not_done_at_every_check(student_run):
    proc, report = student_run
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert report["failed"] == 0 and report["passed"] == len(_check_counts())
    verdicts = _verdicts(OUT / "student")
    all_verdicts = [v for vs in verdicts.values() for _, v in vs]
    assert len(all_verdicts) == sum(_check_counts().values())
    assert all_verdicts.count("not-done") == len(all_verdicts), verdicts
    # No other cell shows a verdict, and nothing is reported correct anywhere.
    for path in sorted((OUT / "student" / "executed").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            text = ms.output_text(cell)
            assert ms.CORRECT not in text, (path.name, cell.source)
            if not ms.is_check(cell):
                assert ms.NOT_DONE not in text and ms.WRONG not in text, (path.name, cell.source)


def test_grading_mode_gives_zero_points_and_keeps_running(student_run):
    """nbgrader's autograde gives a grade cell zero points only when it ends with an error."""
    from nbclient import NotebookClient

    _require_kernel()
    path = STUDENT / "ex03_pooling_by_hand.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_env.KERNEL,
        timeout=900,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    with kernel_env.evcxr_tmpdir(True) as tmpdir:
        env = kernel_env.kernel_env(True, tmpdir, True)
        env["CNNKIT_GRADING"] = "1"
        with client.setup_kernel(env=env):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, i)
    OUT.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, OUT / "grading_mode_ex03.ipynb")
    checks = [c for c in nb.cells if ms.is_check(c)]
    assert len(checks) == 2
    for c in checks:
        assert ms.verdict(c) == "not-done", c.outputs
        errors = [o for o in c.outputs if o.output_type == "error"]
        assert errors and "Subprocess terminated" in errors[0].evalue, c.outputs
    # The task cell between the two checks compiled again after the first check ended the
    # evaluation process (functions survive, variables do not).
    second_task = [c for c in nb.cells if ms.is_task(c)][1]
    assert not [o for o in second_task.outputs if o.output_type == "error"], second_task.outputs
    results = ms.check_results(nb, path.name, nbformat.read(EXERCISES / path.name, as_version=4))
    assert [r.earned for r in results] == [0.0, 0.0]
    assert os.environ.get("CNNKIT_GRADING") is None  # the test process itself is unaffected
