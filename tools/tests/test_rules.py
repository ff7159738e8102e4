"""Unit tests of the runner's cell verdicts, on outputs shaped like evcxr 0.22's (no kernel)."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_output

from cnnkit_notebooks import cli, console
from cnnkit_notebooks import rules


def cell(*outputs, tags=()):
    c = new_code_cell("x")
    c.outputs = list(outputs)
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def stderr(text):
    return new_output("stream", name="stderr", text=text)


def test_clean_cell_passes():
    c = cell(new_output("stream", name="stdout", text="hi\n"), new_output("execute_result", data={"text/plain": "2"}))
    assert rules.judge_cell(c) is None


def test_blank_stderr_is_ignored():
    assert rules.judge_cell(cell(stderr("\n"), stderr("  \n"))) is None


def test_stderr_fails_unless_allowed():
    verdict = rules.judge_cell(cell(stderr("invalid digit found in string\n")))
    assert verdict[0] == "stderr output"
    assert "invalid digit found in string" in verdict[1]
    assert rules.judge_cell(cell(stderr("epoch 1/10\n"), tags=["allow-stderr"])) is None


def test_panic_message_without_backtrace():
    text = (
        "\nthread '<unnamed>' (123) panicked at src/lib.rs:10:1:\nboom\nstack backtrace:\n"
        "   0: __rustc::rust_begin_unwind\n"
    )
    # evcxr's default setting: the panic is only stderr text.
    reason, message = rules.judge_cell(cell(stderr(text)))
    assert reason == "panic" and message.endswith("boom") and "backtrace" not in message
    # With preserve_vars_on_panic = false the process aborts and evcxr reports an error too;
    # a panic is still a panic even in a cell whose stderr is allowed.
    err = new_output("error", ename="Error", evalue="Subprocess terminated with status: signal: 6 (SIGABRT)", traceback=[])
    assert rules.judge_cell(cell(stderr(text), err, tags=["allow-stderr"]))[0] == "panic"


def test_crash_and_compile_error():
    err = new_output("error", ename="Error", evalue="Subprocess terminated with status: exit status: 3", traceback=[])
    assert rules.judge_cell(cell(err))[0] == "crash"
    err = new_output(
        "error", ename="Error", evalue="mismatched types", traceback=["\x1b[31m[E0308] Error:\x1b[0m mismatched types"]
    )
    assert rules.judge_cell(cell(err)) == ("compile error", "[E0308] Error: mismatched types")


def test_timeout_tag():
    c = cell()
    assert rules.cell_timeout(c, 100) == 100
    c.metadata["tags"] = ["timeout=7"]
    assert rules.cell_timeout(c, 100) == 7


def test_first_line_and_pad():
    assert console.first_line("\n\n  let x = 1;\nlet y = 2;") == "let x = 1;"
    assert console.pad("합성곱", 8) == "합성곱  "


def test_find_notebooks_recurses_and_names_by_relative_path(tmp_path):
    for rel in ["b.ipynb", "a.ipynb", "sub/c.ipynb", ".ipynb_checkpoints/a-checkpoint.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = cli.find_notebooks([str(tmp_path)])
    assert [name for _, name in found] == ["a", "b", "sub/c"]
    assert [name for _, name in cli.find_notebooks([str(tmp_path)], ["sub/*"])] == ["a", "b"]
    assert [name for _, name in cli.find_notebooks([str(tmp_path / "sub" / "c.ipynb")])] == ["c"]


def test_reasons_are_an_enum_whose_values_are_the_report_texts():
    assert rules.Reason("compile error") is rules.Reason.COMPILE_ERROR
    assert f"{rules.Reason.STDERR}" == "stderr output" and rules.Reason.STDERR == "stderr output"
    values = [r.value for r in rules.Reason]
    assert len(set(values)) == len(values)
    assert {"compile error", "panic", "crash", "stderr output", "timeout", "kernel died", "kernel error",
            "invalid notebook"} <= set(values)


def test_expect_error_must_fail_and_raises_exception_may_fail():
    err = new_output("error", ename="Error", evalue="mismatched types", traceback=["mismatched types"])
    # expect-error: a clean cell fails the notebook, a failing one passes.
    failure, note = rules.check_cell(cell(tags=["expect-error"]))
    assert failure[0] is rules.Reason.EXPECTED_ERROR_MISSING and note == "FAILED"
    assert rules.check_cell(cell(err, tags=["expect-error"])) == (None, "ok, failed as expected (compile error)")
    assert rules.check_cell(cell(stderr("x\n"), tags=["expect-error"]))[0] is None
    # raises-exception (nbclient's meaning): failing or not, the cell passes.
    assert rules.check_cell(cell(tags=["raises-exception"])) == (None, "ok")
    failure, note = rules.check_cell(cell(err, tags=["raises-exception"]))
    assert failure is None and "allowed by raises-exception" in note
    assert rules.check_cell(cell(stderr("x\n"), tags=["raises-exception"]))[0] is None
    # Neither tag: the failure stands.
    assert rules.check_cell(cell(err))[0][0] is rules.Reason.COMPILE_ERROR
    # Late output fails only an untagged cell.
    assert rules.late_failure(cell(stderr("late\n")))[0] is rules.Reason.STDERR
    assert rules.late_failure(cell(stderr("late\n"), tags=["raises-exception"])) is None
    assert rules.late_failure(cell(stderr("late\n"), tags=["expect-error"])) is None
