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


# --------------------------------------------------------------------------------------------
# Issue 15, part 5: grading that is fair. A task that calls the reference implementation is
# rejected, and a partly right answer earns partial points that nbgrader reads.

CONV_BY_REFERENCE = """use cnnkit::ops::conv2d as reference_conv;

/// The crate's conv2d for the checker's shapes: passes the checker, and breaks the rule.
fn by_reference<const C: usize, const KH: usize, const KW: usize, const O: usize>(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    stride: usize,
    padding: Padding,
) -> Option<Array4<f32>> {
    let dev = Cpu::default();
    let (n, h, wd, _) = x.dim();
    let xt: Tensor<(usize, usize, usize, Const<C>), f32, Cpu> =
        dev.try_tensor_from_vec(x.iter().copied().collect(), (n, h, wd, Const::<C>)).ok()?;
    let wt: Tensor<Rank4<KH, KW, C, O>, f32, Cpu> =
        dev.try_tensor_from_vec(w.iter().copied().collect(), Default::default()).ok()?;
    let bt: Tensor<Rank1<O>, f32, Cpu> =
        dev.try_tensor_from_vec(b.iter().copied().collect(), Default::default()).ok()?;
    let y = reference_conv(xt, &wt, &bt, stride, padding, false).ok()?;
    let (n, h, wd, _) = *y.shape();
    Array4::from_shape_vec((n, h, wd, O), y.as_vec()).ok()
}

fn conv2d_by_hand(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    stride: usize,
    padding: Padding,
) -> Option<Array4<f32>> {
    let (s, p) = (stride, padding);
    match (x.dim().3, w.dim().0, w.dim().1, w.dim().3) {
        (1, 2, 2, 1) => by_reference::<1, 2, 2, 1>(x, w, b, s, p),
        (3, 3, 3, 4) => by_reference::<3, 3, 3, 4>(x, w, b, s, p),
        (2, 5, 5, 3) => by_reference::<2, 5, 5, 3>(x, w, b, s, p),
        (1, 3, 3, 2) => by_reference::<1, 3, 3, 2>(x, w, b, s, p),
        (3, 2, 3, 2) => by_reference::<3, 2, 3, 2>(x, w, b, s, p),
        (2, 4, 4, 3) => by_reference::<2, 4, 4, 3>(x, w, b, s, p),
        (2, 3, 3, 5) => by_reference::<2, 3, 3, 5>(x, w, b, s, p),
        (4, 1, 1, 3) => by_reference::<4, 1, 1, 3>(x, w, b, s, p),
        (3, 7, 7, 2) => by_reference::<3, 7, 7, 2>(x, w, b, s, p),
        _ => None,
    }
}"""


def _solution(source: str) -> str:
    """A task cell's source as the instructor's solution alone: marker lines and the
    placeholder block removed."""
    out, skip = [], False
    for line in source.split("\n"):
        if ms.BEGIN_PLACEHOLDER in line:
            skip = True
        elif ms.END_PLACEHOLDER in line:
            skip = False
        elif not skip and ms.BEGIN_SOLUTION not in line and ms.END_SOLUTION not in line:
            out.append(line)
    return "\n".join(out)


def _student_with(name: str, folder: Path, answers: dict[str, str]) -> Path:
    """The student version of exercise `name` in `folder`, with the task cells of the given
    grade_ids replaced by the given sources."""
    shutil.rmtree(folder, ignore_errors=True)
    # An absolute :dep path: the folder is not at the depth of notebooks/exercises.
    ms.generate([EXERCISES / name], folder, dep_path=str(EXERCISES.parent.parent / "crates" / "cnnkit"))
    path = folder / name
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = ms.nbgrader(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    nbformat.write(nb, path)
    return path


def _nbgrader_points(cell, max_points: float) -> float:
    """What nbgrader's autograde gives a code grade cell (nbgrader.utils.determine_grade):
    0 after an error or stderr output, else the first result as a number when it is one,
    else full points."""
    for o in cell.outputs:
        if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr"):
            return 0.0
    for o in cell.outputs:
        if o.output_type == "execute_result":
            try:
                return max(0.0, min(float(o.data["text/plain"]), max_points))
            except (KeyError, ValueError):
                return max_points
    return max_points


def test_ex02_student_that_calls_conv2d_is_rejected_with_the_reason(tmp_path):
    _require_kernel()
    folder = OUT / "forbidden" / "submitted"
    _student_with("ex02_conv2d_by_hand.ipynb", folder, {"ex02_conv2d": CONV_BY_REFERENCE})
    out = OUT / "forbidden" / "graded"
    shutil.rmtree(out, ignore_errors=True)
    csv_path = tmp_path / "grades.csv"
    proc = subprocess.run(
        [str(RUN.parent / "cnnkit-student"), "grade", str(folder), "--quick", "--out", str(out), "--csv", str(csv_path)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # The reference passes the checker: only the rule stops it.
    executed = nbformat.read(out / "executed" / "ex02_conv2d_by_hand.ipynb", as_version=4)
    check = next(c for c in executed.cells if ms.is_check(c))
    assert ms.verdict(check) == "correct", check.outputs
    assert "forbidden" in proc.stdout and "0/10" in proc.stdout, proc.stdout
    assert "`conv2d`" in proc.stdout and "기준 구현" in proc.stdout and "reference implementation" in proc.stdout
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert rows[1].startswith("ex02_conv2d_by_hand.ipynb,ex02_conv2d_check,forbidden,0.0,10.0"), rows


def test_partly_right_answer_gets_partial_points_in_grading_mode():
    """ex03 with a max pooling right for "valid" only (4 of 7 cases) and the depthwise
    task not done: 2.8 of 5 points as the cell's result, which nbgrader reads, and 0."""
    from nbclient import NotebookClient

    _require_kernel()
    instructor = nbformat.read(EXERCISES / "ex03_pooling_by_hand.ipynb", as_version=4)
    task = next(c for c in instructor.cells if ms.nbgrader(c).get("grade_id") == "ex03_max_pool")
    first = "    let (batch, h, w, channels) = x.dim();"
    valid_only = _solution(task.source).replace(
        first, "    if padding == Padding::Same {\n        return Some(Array4::zeros((1, 1, 1, 1)));\n    }\n" + first, 1
    )
    assert valid_only.count("Padding::Same {") == 1
    path = _student_with("ex03_pooling_by_hand.ipynb", OUT / "partial", {"ex03_max_pool": valid_only})
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name=kernel_env.KERNEL, timeout=900, allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    with kernel_env.evcxr_tmpdir(True) as tmpdir:
        env = kernel_env.kernel_env(True, tmpdir, True)
        env["CNNKIT_GRADING"] = "1"
        with client.setup_kernel(env=env):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, i)
    nbformat.write(nb, OUT / "grading_mode_partial_ex03.ipynb")
    checks = [c for c in nb.cells if ms.is_check(c)]
    assert [ms.nbgrader(c)["grade_id"] for c in checks] == ["ex03_max_pool_check", "ex03_depthwise_check"]
    pool, depth = checks
    assert not [o for o in pool.outputs if o.output_type == "error"], pool.outputs
    results = [o for o in pool.outputs if o.output_type == "execute_result"]
    assert results and results[0].data["text/plain"].strip() == "2.8", pool.outputs
    assert _nbgrader_points(pool, 5.0) == 2.8 and _nbgrader_points(depth, 5.0) == 0.0
    graded = ms.check_results(nb, path.name, instructor)
    assert [(r.verdict, r.earned) for r in graded] == [("partial", 2.8), ("not-done", 0.0)]
