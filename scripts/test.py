#!/usr/bin/env python3
"""The project's test command (`make test`): three stages, one closing summary line.

  1. cargo test --workspace               the crates' unit, integration and doc tests
  2. pytest tools/tests                   the tools' self-tests: the exercise notebooks, then
                                          the browser test, and at the same time the rest
                                          (small plain-Rust notebooks)
  3. pytest --nbrun notebooks/            every notebook in quick mode (CNNKIT_QUICK=1), each
                                          one pytest item (the tools' plugin), pages and
                                          report in build/test/notebooks/

Every stage runs even when an earlier one failed. The last line printed is
`N passed, N failed`, adding up the tests of all three stages (a notebook counts as one
test), so whoever reads only the closing line sees everything. A stage that crashes before
reporting counts as one failure. Exit status: 0 only when nothing failed.

Uses only the standard library; run it with the venv's Python (pytest and nbclient live there).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
OUT = ROOT / "build" / "test"


def banner(text: str) -> None:
    print(f"\n{'=' * 30} {text} {'=' * max(0, 46 - len(text))}", flush=True)


def tee(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Runs cmd, printing its output as it comes, and returns (exit code, output)."""
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    return proc.wait(), "".join(lines)


def cargo_stage(env: dict[str, str]) -> tuple[int, int, str]:
    rc, out = tee(["cargo", "test", "--workspace", "--no-fail-fast"], env)
    passed = failed = 0
    for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", out):
        passed += int(m.group(1))
        failed += int(m.group(2))
    note = ""
    if rc != 0 and failed == 0:
        failed, note = 1, " (cargo test exited with an error before reporting failures: see above)"
    return passed, failed, note


def junit_counts(xml: Path, rc: int, empty_ok: bool = False) -> tuple[int, int, str]:
    """(passed, failed, note) from a pytest run's JUnit file and exit code; with empty_ok,
    a run that collected nothing (exit code 5) is no failure."""
    if not xml.exists():
        return 0, 1, f" (pytest exited with {rc} and wrote no report)"
    root = ET.parse(xml).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    note = f" ({skipped} skipped)" if skipped else ""
    if empty_ok and rc == 5 and tests == 0:  # pytest's "no tests collected"
        return 0, 0, " (no notebooks in notebooks/ yet)"
    passed = tests - bad - skipped
    if rc != 0 and bad == 0:  # pytest failed without a failing test: count that as one
        bad, note = 1, f" (pytest exited with {rc})"
    return passed, bad, note


def pytest_stage(env: dict[str, str]) -> tuple[int, int, str]:
    """Two pytest runs at once. The exercise notebooks (tools/tests/test_exercises.py, the
    longest part, CPU-bound compiling) use the shared evcxr build folders, whose cnnkit
    build the notebook stage then reuses; the browser test (tools/tests/test_browser.py)
    runs after them in the same process, in one of those folders, so that it finds the
    crates compiled. Run beside the exercises on a machine whose ~/.cache/evcxr was empty,
    its kernel compiled the same crates at the same time as theirs, both through evcxr's
    shared `:cache`, and its `:dep cnnkit` cell failed with "found possibly newer version
    of crate `serde_core`" (2026-12-03, a fresh machine). The other self-tests run small
    plain-Rust notebooks and spend much of their time waiting (kernel start-up, time-outs,
    signals): they get build folders of their own (NBRUN_EVCXR_DIR), so that they neither
    take the shared folder nor wait for the exercises. The exercises' output streams; the
    others' is printed when both are done."""
    ex_xml, tools_xml = OUT / "pytest-exercises.xml", OUT / "pytest-tools.xml"
    for xml in (ex_xml, tools_xml, OUT / "pytest.xml"):
        xml.unlink(missing_ok=True)
    tools_env = dict(env, NBRUN_EVCXR_DIR=str(OUT / "evcxr-selftests"))
    tools_log = OUT / "pytest-tools.log"
    tools_cmd = [PY, "-m", "pytest", "tools/tests", "--ignore=tools/tests/test_exercises.py",
                 "--ignore=tools/tests/test_browser.py", "-q", "-rfE", f"--junitxml={tools_xml}"]
    print("$ " + " ".join(tools_cmd) + f"  (at the same time; output in {tools_log})", flush=True)
    with open(tools_log, "w", encoding="utf-8") as log:
        tools = subprocess.Popen(tools_cmd, cwd=ROOT, env=tools_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            ex_rc, _ = tee([PY, "-m", "pytest", "tools/tests/test_exercises.py", "tools/tests/test_browser.py",
                            "-q", "-rfE", f"--junitxml={ex_xml}"], env)
        finally:
            tools_rc = tools.wait()
    print(f"\n--- {tools_log.name} ---", flush=True)
    print(tools_log.read_text(encoding="utf-8"), flush=True)
    a = junit_counts(ex_xml, ex_rc)
    b = junit_counts(tools_xml, tools_rc)
    return a[0] + b[0], a[1] + b[1], (a[2] + b[2]).replace(") (", "; ")


def notebook_stage(env: dict[str, str]) -> tuple[int, int, str]:
    """Each notebook one pytest item (the tools' plugin, `pytest --nbrun`); -s shows the
    cells' progress lines as they run."""
    xml = OUT / "notebooks.xml"
    xml.unlink(missing_ok=True)
    # The exercise notebooks run in the pytest stage (tools/tests/test_exercises.py runs
    # the instructor version and the generated student version), not twice.
    rc, _ = tee(
        [PY, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir=notebooks", "-v", "-s", "-rfE",
         "--nbrun", "--nbrun-quick", f"--nbrun-out={OUT / 'notebooks'}", f"--junitxml={xml}",
         "--ignore=notebooks/exercises", "notebooks"],
        env,
    )
    return junit_counts(xml, rc, empty_ok=True)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CNNKIT_QUICK"] = "1"  # the test command runs everything in quick mode
    env.pop("QUICK", None)
    stages = [
        ("cargo test --workspace", cargo_stage),
        ("tools' self-tests (pytest tools/tests)", pytest_stage),
        ("notebooks, quick mode (pytest --nbrun)", notebook_stage),
    ]
    rows = []
    t0 = time.monotonic()
    for title, fn in stages:
        banner(title)
        t = time.monotonic()
        passed, failed, note = fn(env)
        rows.append((title, passed, failed, note, time.monotonic() - t))
    banner("summary")
    for title, passed, failed, note, secs in rows:
        print(f"  {title:<48} {passed:>4} ok {failed:>3} failed {secs:7.1f} s{note}")
    print(f"  notebook pages (quick mode): {OUT / 'notebooks' / 'index.html'}")
    total_passed = sum(r[1] for r in rows)
    total_failed = sum(r[2] for r in rows)
    print(f"  total time {time.monotonic() - t0:.0f} s")
    summary = f"{total_passed} passed, {total_failed} failed"
    (OUT / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary, flush=True)
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
