"""scripts/test.py (`make test`): counts from JUnit files, one closing line over all stages.

No stage runs here: the stages are replaced by stand-ins, and the JUnit files are small
hand-written ones shaped like pytest's (the notebook stage's come from `pytest --nbrun`).
"""

from __future__ import annotations

import importlib.util

import pytest

from cnnkit_notebooks.paths import ROOT


@pytest.fixture()
def script(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_test_script", ROOT / "scripts" / "test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


def junit(path, tests, failures=0, errors=0, skipped=0):
    path.write_text(
        f'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}" '
        f'errors="{errors}" skipped="{skipped}"></testsuite></testsuites>',
        encoding="utf-8",
    )
    return path


def test_junit_counts(script, tmp_path):
    assert script.junit_counts(junit(tmp_path / "a.xml", 7, failures=1, errors=1, skipped=2), 1) == (3, 2, " (2 skipped)")
    assert script.junit_counts(junit(tmp_path / "b.xml", 3), 0) == (3, 0, "")
    # pytest failed without a failing test (an internal error, a bad option): one failure.
    assert script.junit_counts(junit(tmp_path / "c.xml", 3), 3) == (3, 1, " (pytest exited with 3)")
    assert script.junit_counts(tmp_path / "missing.xml", 2)[1] == 1
    # Nothing collected: a failure for the self-tests, not for an empty notebooks/ folder.
    empty = junit(tmp_path / "d.xml", 0)
    assert script.junit_counts(empty, 5)[:2] == (0, 1)
    assert script.junit_counts(empty, 5, empty_ok=True)[:2] == (0, 0)


def test_the_last_line_adds_up_all_stages(script, monkeypatch, capsys):
    stages = {"cargo_stage": (10, 0, ""), "pytest_stage": (40, 1, ""), "notebook_stage": (6, 1, "")}
    for name, counts in stages.items():
        monkeypatch.setattr(script, name, lambda env, counts=counts: counts)
    assert script.main() == 1
    out = capsys.readouterr().out.rstrip("\n").splitlines()
    assert out[-1] == "56 passed, 2 failed"
    assert (script.OUT / "summary.txt").read_text(encoding="utf-8") == "56 passed, 2 failed\n"


def test_the_two_self_test_runs_go_at_once_and_add_up(script, tmp_path, monkeypatch, capsys):
    """pytest_stage starts the exercises and the other self-tests as two processes: a stand-in
    for Python writes each run's JUnit file, the other run's folder setting is its own, and
    the counts of both runs are added. The browser test runs after the exercises, in their
    process (with the crates they compiled), and not in the other one."""
    stub = tmp_path / "fake_python"
    stub.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in --junitxml=*) xml="${a#--junitxml=}";; esac; done\n'
        'case "$*" in\n'
        '  *--ignore=tools/tests/test_exercises.py*) n=5; f=1; echo "tools: $NBRUN_EVCXR_DIR: $*";;\n'
        '  *) n=3; f=0; echo "exercises: ${NBRUN_EVCXR_DIR:-shared}: $*";;\n'
        "esac\n"
        'printf \'<testsuites><testsuite tests="%s" failures="%s" errors="0" skipped="0"/></testsuites>\' "$n" "$f" > "$xml"\n'
        '[ "$f" = 0 ]\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    monkeypatch.setattr(script, "PY", str(stub))
    env = {k: v for k, v in __import__("os").environ.items() if k != "NBRUN_EVCXR_DIR"}
    assert script.pytest_stage(env) == (7, 1, "")
    out = capsys.readouterr().out
    assert "exercises: shared" in out
    assert f"tools: {tmp_path / 'evcxr-selftests'}" in out
    exercises = next(line for line in out.splitlines() if line.startswith("exercises:"))
    tools = next(line for line in out.splitlines() if line.startswith("tools:"))
    assert exercises.index("test_exercises.py") < exercises.index("test_browser.py"), exercises
    assert "--ignore=tools/tests/test_browser.py" in tools, tools
