"""Unit tests of cnnkit_notebooks.student: markers, student notebooks, verdicts and grading.

Fast (no kernel). The end-to-end run of the exercise notebooks is in test_exercises.py.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnnkit_notebooks import student as ms
from cnnkit_notebooks.paths import EXERCISES
INSTRUCTOR = sorted(EXERCISES.glob("*.ipynb"))

TASK = """fn total_params() -> Option<u64> {
    // BEGIN SOLUTION
    let k = 3u64;
    Some(k * 2)
    // END SOLUTION
    // BEGIN PLACEHOLDER
    // None
    // END PLACEHOLDER
}"""


def test_strip_code_replaces_the_solution_and_uncomments_the_placeholder():
    assert ms.strip_code(TASK) == (
        "fn total_params() -> Option<u64> {\n"
        f"    {ms.STUB}\n"
        "    None\n"
        "}"
    )


def test_strip_code_handles_several_regions_and_keeps_indentation():
    src = """// BEGIN SOLUTION
type M = (A, B);
// END SOLUTION
// BEGIN PLACEHOLDER
// type M = (Flatten, Dense<784, 10>); // replace
// END PLACEHOLDER

fn f() -> Option<M> {
    // BEGIN SOLUTION
    Some(build())
    // END SOLUTION
    // BEGIN PLACEHOLDER
    //     None
    //
    // END PLACEHOLDER
}"""
    out = ms.strip_code(src)
    assert "type M = (Flatten, Dense<784, 10>); // replace" in out.splitlines()
    assert "        None" in out.splitlines()  # only the first `// ` is removed
    assert "(A, B)" not in out and "build()" not in out
    assert out.count(ms.STUB) == 2
    assert "SOLUTION" not in out and "PLACEHOLDER" not in out


def test_code_without_markers_is_unchanged():
    src = "let x = 1;\n// a comment\nx + 1"
    assert ms.strip_code(src) == src


@pytest.mark.parametrize(
    "src, message",
    [
        ("// BEGIN SOLUTION\nlet x = 1;", "not closed"),
        ("let x = 1;\n// END SOLUTION", "without its BEGIN"),
        ("// BEGIN PLACEHOLDER\nNone\n// END PLACEHOLDER", "commented out"),
        ("// BEGIN SOLUTION\n// BEGIN SOLUTION\n// END SOLUTION", "inside a solution"),
        ("// BEGIN PLACEHOLDER\n// x\n// BEGIN SOLUTION", "inside a placeholder"),
    ],
)
def test_bad_markers_are_errors_that_name_the_place(src, message):
    with pytest.raises(ms.MarkerError, match=message):
        ms.strip_code(src, "nb.ipynb, cell 3")


def test_markdown_solution_regions_become_the_text_stub():
    src = "질문\n<!-- BEGIN SOLUTION -->\n답: 42\n<!-- END SOLUTION -->\n끝"
    assert ms.strip_markdown(src) == f"질문\n{ms.TEXT_STUB}\n끝"


def _notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
    return nb


def _task(src, gid="t1"):
    c = new_code_cell(src)
    c.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": gid, "schema_version": 3}
    return c


def _check(src, gid="t1_check", points=2):
    c = new_code_cell(src)
    c.metadata["nbgrader"] = {
        "solution": False, "grade": True, "locked": True, "points": points, "grade_id": gid, "schema_version": 3,
    }
    return c


def test_validate_rejects_inconsistent_metadata():
    with pytest.raises(ms.MarkerError, match="not marked as a task"):
        ms.validate(_notebook(new_code_cell(TASK)), "nb")
    with pytest.raises(ms.MarkerError, match="without a BEGIN SOLUTION"):
        ms.validate(_notebook(_task("fn f() {}")), "nb")
    with pytest.raises(ms.MarkerError, match="without a placeholder"):
        ms.validate(_notebook(_task("// BEGIN SOLUTION\nx\n// END SOLUTION")), "nb")
    with pytest.raises(ms.MarkerError, match="duplicate grade_id"):
        ms.validate(_notebook(_task(TASK, "a"), _check("check(f)", "a")), "nb")
    bad = _check("check(f)")
    del bad.metadata["nbgrader"]["points"]
    with pytest.raises(ms.MarkerError, match="without points"):
        ms.validate(_notebook(bad), "nb")


def test_instructor_notebooks_exist_and_are_valid():
    assert [p.name for p in INSTRUCTOR] == [
        "ex01_cnn_arithmetic.ipynb",
        "ex02_conv2d_by_hand.ipynb",
        "ex03_pooling_by_hand.ipynb",
        "ex04_custom_filter.ipynb",
        "ex05_fashion_mnist_cnn.ipynb",
        "ex06_residual_unit.ipynb",
        "ex07_transfer_learning.ipynb",
        "ex08_detection.ipynb",
    ]
    total = 0.0
    for path in INSTRUCTOR:
        nb = nbformat.read(path, as_version=4)
        s = ms.validate(nb, path.name)
        assert s.tasks >= 1 and s.checks >= 1, path.name
        # The rubric in docs/instructors.md: 10 points of checks per notebook, and in ex01
        # 10 more for the book's conceptual exercises, graded by hand.
        assert s.auto_points == 10, path.name
        assert s.manual_points == (10 if path.name.startswith("ex01") else 0), path.name
        total += s.points
        # Committed without outputs, with the project's kernel and one :dep line.
        assert nb.metadata["kernelspec"]["name"] == "rust"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        deps = [line for c in code for line in c.source.splitlines() if line.startswith(":dep")]
        assert deps == [':dep cnnkit = { path = "../../crates/cnnkit" }'], path.name
        # Every check cell is one checker call on functions only (grading mode ends the
        # evaluation process on a failed check, which loses variables but not functions).
        for c in code:
            if ms.is_check(c):
                assert c.source.startswith("check_") and "let " not in c.source, c.source
    assert total == 90


def test_student_notebooks_have_no_solutions_and_no_outputs():
    for path in INSTRUCTOR:
        nb = nbformat.read(path, as_version=4)
        last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
        last_code.outputs = [new_output("stream", name="stdout", text="old output")]
        last_code.execution_count = 7
        student = ms.student_notebook(nb, path.name)
        nbformat.validate(student)
        for src_cell, cell in zip(nb.cells, student.cells):
            text = cell.source
            for word in ("SOLUTION", "PLACEHOLDER"):
                assert word not in text, (path.name, text)
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            if ms.is_manual(src_cell):
                assert ms.TEXT_STUB in text and "모범 답안" not in text, (path.name, text)
                assert text.strip() == ms.TEXT_STUB
            elif ms.is_task(src_cell):
                assert ms.STUB in text
                # The lines of the solution are gone.
                solution = src_cell.source.split("BEGIN SOLUTION", 1)[1].split("END SOLUTION", 1)[0]
                body = [ln.strip() for ln in solution.splitlines()[1:-1] if len(ln.strip()) > 12]
                lines = {ln.strip() for ln in text.splitlines()}
                assert body and not any(ln in lines for ln in body), (path.name, body)
            else:
                assert text == src_cell.source
            assert cell.metadata.get("nbgrader") == src_cell.metadata.get("nbgrader")
        # The instructor notebook itself is unchanged.
        assert "BEGIN SOLUTION" in "".join(c.source for c in nb.cells)


def test_cli_writes_students_and_copies_evcxr_toml(tmp_path, capsys):
    rc = ms.main(["build", str(EXERCISES), "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in INSTRUCTOR]
    assert (tmp_path / "evcxr.toml").read_text() == (EXERCISES / "evcxr.toml").read_text()
    assert out.rstrip().splitlines()[-1] == (
        f"8 student notebooks in {tmp_path}, 90 points in all (10 of them graded by hand)"
    )


def test_cli_validate_and_marker_errors(tmp_path, capsys):
    assert ms.main(["validate"]) == 0
    bad = _notebook(_task("// BEGIN SOLUTION\nx"))
    nbformat.write(bad, tmp_path / "bad.ipynb")
    assert ms.main(["build", str(tmp_path / "bad.ipynb"), "-o", str(tmp_path / "out")]) == 1
    assert "bad.ipynb, cell 0" in capsys.readouterr().err
    assert ms.main(["validate", str(tmp_path / "bad.ipynb")]) == 1


def test_the_old_flags_mean_the_subcommands():
    assert ms.legacy_argv([]) == ["build"]
    assert ms.legacy_argv(["notebooks/exercises", "-o", "x"]) == ["build", "notebooks/exercises", "-o", "x"]
    assert ms.legacy_argv(["--check"]) == ["validate"]
    assert ms.legacy_argv(["--grade", "d", "--csv", "g.csv"]) == ["grade", "--executed", "d", "--csv", "g.csv"]
    assert ms.legacy_argv(["grade", "d"]) == ["grade", "d"]
    assert ms.legacy_argv(["--help"]) == ["--help"]


def test_dep_path_is_rewritten():
    nb = _notebook(new_code_cell(':dep cnnkit = { path = "../../crates/cnnkit" }'), new_code_cell("let x = 1;"))
    out = ms.student_notebook(nb, dep_path="/opt/course/cnnkit")
    assert out.cells[0].source == ':dep cnnkit = { path = "/opt/course/cnnkit" }'
    assert out.cells[1].source == "let x = 1;"


# ---- verdicts and grading --------------------------------------------------------------------


def _result(text: str):
    return new_output("execute_result", data={"text/html": "<div>...</div>", "text/plain": text}, execution_count=1)


def test_verdicts_are_read_from_plain_text_and_errors():
    c = new_code_cell("check_x(f)")
    c.outputs = [_result("✅ 정답입니다! (연습 1)")]
    assert ms.verdict(c) == "correct"
    c.outputs = [_result("⏳ 아직 풀지 않았습니다 (연습 1)\n  - 힌트")]
    assert ms.verdict(c) == "not-done"
    c.outputs = [_result("❌ 틀렸습니다 (연습 1)")]
    assert ms.verdict(c) == "wrong"
    # Grading mode: the verdict on stdout, then the evaluation process ends with an error.
    c.outputs = [
        new_output("stream", name="stdout", text="❌ 틀렸습니다 (연습 1)\n"),
        new_output("error", ename="Error", evalue="Subprocess terminated with status: exit status: 3", traceback=[]),
    ]
    assert ms.verdict(c) == "wrong"
    c.outputs = [new_output("error", ename="Error", evalue="cannot find value", traceback=[])]
    assert ms.verdict(c) == "error"
    c.outputs = []
    assert ms.verdict(c) == "none"


def test_check_results_use_the_instructor_points_and_flag_modified_checks():
    source = _notebook(_task(TASK, "a"), _check("check_a(f)", "a_check", 3), _check("check_b(g)", "b_check", 2))
    executed = copy.deepcopy(source)
    executed.cells[1].outputs = [_result("✅ 정답입니다! (a)")]
    executed.cells[2].outputs = [_result("✅ 정답입니다! (b)")]
    executed.cells[2].source = "Verdict::correct(\"b\", vec![])"  # a student's forgery
    results = ms.check_results(executed, "nb.ipynb", source)
    assert [(r.grade_id, r.verdict, r.earned, r.points, r.modified) for r in results] == [
        ("a_check", "correct", 3.0, 3.0, False),
        ("b_check", "correct", 0.0, 2.0, True),
    ]
    # A check cell deleted by the student counts as missing.
    del executed.cells[1]
    assert ms.check_results(executed, "nb.ipynb", source)[0].verdict == "missing"


def test_grade_cli_prints_a_total_and_writes_csv(tmp_path, capsys):
    src_dir = tmp_path / "src"
    sub_dir = tmp_path / "submitted"
    src_dir.mkdir()
    sub_dir.mkdir()
    source = _notebook(_task(TASK, "a"), _check("check_a(f)", "a_check", 3), _check("check_b(g)", "b_check", 2))
    nbformat.write(source, src_dir / "hw.ipynb")
    executed = copy.deepcopy(source)
    executed.cells[1].outputs = [_result("✅ 정답입니다! (a)")]
    executed.cells[2].outputs = [_result("⏳ 아직 풀지 않았습니다 (b)")]
    nbformat.write(executed, sub_dir / "hw.ipynb")
    rc = ms.main(["grade", "--executed", str(sub_dir), "--source", str(src_dir), "--csv", str(tmp_path / "g.csv")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "total 3/5 points" in out
    assert "hw.ipynb / b_check" in out and "not-done" in out
    rows = (tmp_path / "g.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "notebook,grade_id,verdict,earned,points,modified"
    assert len(rows) == 3


def test_nbgrader_preprocessor_uncomments_after_clear_solutions():
    pytest.importorskip("nbgrader")
    from nbgrader.preprocessors import ClearSolutions

    nb = _notebook(_task(TASK, "a"))
    clear = ClearSolutions(code_stub={"rust": ms.STUB}, enforce_metadata=True)
    nb, res = clear.preprocess(nb, {"language": "rust"})
    nb, _ = ms.NbgraderPlaceholders().preprocess(nb, res)
    assert nb.cells[0].source == ms.strip_code(TASK)


def test_configure_nbgrader_sets_stub_placeholders_and_execute():
    pytest.importorskip("nbgrader")
    from nbgrader.preprocessors import ClearSolutions, Execute
    from traitlets.config import Config

    c = Config()
    ms.configure_nbgrader(c)
    assert c.ClearSolutions.code_stub == {"rust": ms.STUB}
    pre = c.GenerateAssignment.preprocessors
    assert pre[pre.index(ClearSolutions) + 1] is ms.NbgraderPlaceholders
    auto = c.Autograde.autograde_preprocessors
    assert ms.EvcxrExecute in auto and Execute not in auto
    # evcxr's error reply has no ename: EvcxrExecute fills it in before nbgrader reads it.
    cell = new_code_cell("x")
    cell.outputs = [new_output("error", ename="Error", evalue="Subprocess terminated", traceback=[])]
    reply = {"content": {"status": "error"}}
    ms.EvcxrExecute().on_cell_executed(cell=cell, execute_reply=reply)
    assert reply["content"]["ename"] == "Error" and len(cell.outputs) == 1


# --------------------------------------------------------------------------------------------
# Issue 15, part 5: the reference-implementation rule, partial credit, conceptual answers,
# and no expected answers in what a student reads.


def _exercise(name):
    return nbformat.read(EXERCISES / name, as_version=4)


def test_code_identifiers_skip_comments_strings_and_evcxr_commands():
    src = """:dep conv2d = { path = "x" }
// conv2d in a comment
/* a block /* nested conv2d */ still */ let s = "conv2d(x)"; let r = r#"conv2d"#;
let c = 'x'; let q = '\\''; fn f<'a>(v: &'a str) {}
let y = r#conv2d(x);
use cnnkit::ops::conv2d as c2;"""
    uses = ms.forbidden_uses(src, ["conv2d"])
    assert uses == [("conv2d", 5), ("conv2d", 6)], uses
    assert ms.forbidden_uses("fn conv2d_by_hand() {} // Conv2D", ["conv2d", "Conv2D"]) == []
    assert ms.forbidden_uses("type M = (Conv2D<1, 2, 3, 1, Same>, Flatten);", ["Conv2D"]) == [("Conv2D", 1)]


def test_every_by_hand_task_lists_its_reference_and_its_own_solution_is_clean():
    expected = {
        "ex01_cnn_arithmetic.ipynb": ["ex01_output_size", "ex01_total_params", "ex01_inference_bytes",
                                      "ex01_training_bytes"],
        "ex02_conv2d_by_hand.ipynb": ["ex02_conv2d"],
        "ex03_pooling_by_hand.ipynb": ["ex03_max_pool", "ex03_depthwise"],
        "ex04_custom_filter.ipynb": ["ex04_apply"],
        "ex06_residual_unit.ipynb": ["ex06_residual_unit", "ex06_inception"],
        "ex08_detection.ipynb": ["ex08_iou", "ex08_nms", "ex08_transposed"],
    }
    for path in INSTRUCTOR:
        nb = nbformat.read(path, as_version=4)
        with_rule = [ms.nbgrader(c)["grade_id"] for c in nb.cells if ms.forbidden_names(c)]
        assert with_rule == expected.get(path.name, []), path.name
        for c in nb.cells:
            if ms.is_task(c):
                # The instructor's solution and the student's placeholder keep the rule.
                assert ms.forbidden_uses(c.source, ms.forbidden_names(c)) == [], (path.name, c.source)
                assert ms.forbidden_uses(ms.strip_code(c.source), ms.forbidden_names(c)) == []
        assert "conv2d" in ms.forbidden_names(nb.cells[[ms.nbgrader(c).get("grade_id") for c in nb.cells].index(
            "ex02_conv2d")]) if path.name.startswith("ex02") else True


def _ran(nb, verdicts):
    """The notebook as if it ran: each check cell shows the given verdict text."""
    for c in nb.cells:
        if ms.is_check(c):
            c.outputs = [_result(verdicts.get(ms.nbgrader(c)["grade_id"], "✅ 정답입니다! (x)"))]
    return nb


def test_a_task_that_calls_the_reference_scores_zero_with_a_message():
    source = _exercise("ex02_conv2d_by_hand.ipynb")
    student = ms.student_notebook(source, "ex02")
    task = next(c for c in student.cells if ms.is_task(c))
    task.source = task.source.replace(
        "None", "cnnkit::ops::conv2d(todo!(), todo!(), todo!(), stride, padding, false).ok().map(|_| todo!())"
    )
    results = ms.check_results(_ran(student, {}), "ex02_conv2d_by_hand.ipynb", source)
    assert [(r.grade_id, r.verdict, r.earned) for r in results] == [("ex02_conv2d_check", "forbidden", 0.0)]
    note = results[0].note
    assert "`conv2d`" in note and "기준 구현" in note and "reference implementation" in note, note
    # Without the instructor notebook in hand, `check` finds the rule by the file name.
    assert ms.check_results(student, "ex02_conv2d_by_hand.ipynb")[0].verdict == "forbidden"


def test_an_alias_in_another_cell_is_found_and_the_given_cells_are_not():
    source = _exercise("ex02_conv2d_by_hand.ipynb")
    student = ms.student_notebook(source, "ex02")
    # Unchanged, the student notebook breaks no rule (its cells use no reference).
    assert ms.forbidden_violations(student, source) == {}
    i = next(i for i, c in enumerate(student.cells) if ms.is_task(c))
    student.cells.insert(i, new_code_cell("use cnnkit::ops::conv2d as c;"))
    found = ms.forbidden_violations(student, source)
    assert list(found) == ["ex02_conv2d_check"] and f"cell {i}, line 1" in found["ex02_conv2d_check"]


def test_the_rule_applies_to_the_checks_of_its_own_task_only():
    source = _exercise("ex03_pooling_by_hand.ipynb")
    student = ms.student_notebook(source, "ex03")
    second = [c for c in student.cells if ms.is_task(c)][1]
    second.source = second.source.replace("None", "Some(depthwise_max_pool2d(todo!()))")
    results = ms.check_results(_ran(student, {}), "ex03_pooling_by_hand.ipynb", source)
    assert [(r.grade_id, r.verdict) for r in results] == [
        ("ex03_max_pool_check", "correct"), ("ex03_depthwise_check", "forbidden")]


def test_partial_credit_is_read_from_the_points_line():
    source = _exercise("ex03_pooling_by_hand.ipynb")
    student = ms.student_notebook(source, "ex03")
    partly = "❌ 틀렸습니다 (연습 3-1)\n  - 사례 4/7: ...\n  - 점수 (points): 2.8/5 (사례 7개 중 4개 맞음)"
    nothing = "❌ 틀렸습니다 (연습 3-2)\n  - 점수 (points): 0/5 (사례 5개 중 0개 맞음)"
    results = ms.check_results(_ran(student, {"ex03_max_pool_check": partly, "ex03_depthwise_check": nothing}),
                               "ex03_pooling_by_hand.ipynb", source)
    assert [(r.verdict, r.earned, r.points) for r in results] == [("partial", 2.8, 5.0), ("wrong", 0.0, 5.0)]
    assert ms.credit(student.cells[[ms.is_check(c) for c in student.cells].index(True)]) == (2.8, 5.0)


def test_conceptual_exercises_are_manual_answer_cells_stripped_for_students():
    nb = _exercise("ex01_cnn_arithmetic.ipynb")
    manual = [c for c in nb.cells if ms.is_manual(c)]
    assert [ms.nbgrader(c)["grade_id"] for c in manual] == [f"ex01_concept_{n}" for n in (1, 3, 4, 5, 6, 7, 8)]
    for c in manual:
        meta = ms.nbgrader(c)
        assert meta["grade"] is True and meta["solution"] is True and meta["task"] is False
        assert meta["locked"] is False and meta["schema_version"] == 3 and meta["points"] >= 1
        assert "<!-- BEGIN SOLUTION -->" in c.source and "모범 답안" in c.source
    assert sum(ms.nbgrader(c)["points"] for c in manual) == 10
    # Each answer cell follows its question.
    for i, c in enumerate(nb.cells):
        if ms.is_manual(c):
            assert nb.cells[i - 1].source.startswith("### 연습문제 "), nb.cells[i - 1].source
    student = ms.student_notebook(nb, "ex01")
    answers = [c for c in student.cells if ms.is_manual(c)]
    assert all(c.source.strip() == ms.TEXT_STUB for c in answers)
    # `grade` lists them as graded by hand, with their points outside the automatic total.
    results = ms.check_results(_ran(student, {}), "ex01_cnn_arithmetic.ipynb", nb)
    assert [r.verdict for r in results].count("manual") == 7
    assert sum(r.earned for r in results) == 10 and sum(r.points for r in results) == 20
    with pytest.raises(ms.MarkerError, match="without a model answer"):
        bad = copy.deepcopy(nb)
        next(c for c in bad.cells if ms.is_manual(c)).source = "no answer"
        ms.validate(bad, "ex01")


# The book's answers to exercise 2 (ex01's checks), in the forms they could be written in.
ANSWERS = ["903400", "12613600", "565613600", "2800", "180200", "720400"]


def _number_forms(n: str) -> list[str]:
    v = int(n)
    return [n, f"{v:_}", f"{v:,}"]


def test_expected_answers_are_not_in_student_notebooks_or_the_homework_crate(tmp_path):
    import re

    from cnnkit_notebooks.paths import ROOT

    ms.generate(INSTRUCTOR, tmp_path)
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("*.ipynb"))}
    for path in sorted((ROOT / "crates" / "homework").rglob("*.rs")):
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    found = []
    for name, text in texts.items():
        for n in ANSWERS:
            for form in _number_forms(n):
                if re.search(rf"(?<![0-9_,.]){re.escape(form)}(?![0-9_,])", text):
                    found.append((name, form))
    assert not found, found
