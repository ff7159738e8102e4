"""The fault suite of the runner and the grading process (docs/faults.md lists each fault,
what the user sees and the test here that checks it).

Every test reproduces a probe of a careless or unlucky user and asserts the message and
that nothing was lost or left running. Processes are tracked by an environment variable
with a value of the test's own (CNNKIT_FAULT_PROBE): the kernels inherit it, and so does
evcxr's evaluation process, so a scan of /proc finds every process a run started, even
one that outlived its parent, and nothing of the other runs on the same machine.

Kernels: the tests of the runner's plumbing (bad notebooks, two runs at once) use the
venv's Python kernel (`cnnkit-run --kernel python3`, seconds); the tests whose fault
lives in evcxr (its evaluation process, its output forwarding, its interrupt) use the
real `rust` kernel on notebooks of two or three plain-Rust cells, and fail when evcxr is
not installed, like the other kernel tests.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnkit_notebooks import processes, report, rules, student
from cnnkit_notebooks.cli import default_max_output, parser as run_parser
from cnnkit_notebooks.console import parse_size
from cnnkit_notebooks.kernel_env import evcxr_installed, install_cargo_profile
from cnnkit_notebooks.paths import CARGO_PROFILE
from cnnkit_notebooks.run import TAIL, _Text, invalid_notebook_message

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RUN = BIN / "cnnkit-run"
STUDENT = BIN / "cnnkit-student"
MARKER = "CNNKIT_FAULT_PROBE"


# --------------------------------------------------------------------------------------------
# Helpers


def probe_processes(marker: str) -> dict[int, str]:
    """pid -> command line of every live process whose environment holds the marker."""
    needle = f"{MARKER}={marker}".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
        except OSError:
            continue
        if needle in env and processes.alive(int(name)):
            found[int(name)] = processes.command_line(int(name))
    return found


def wait_gone(marker: str, seconds: float = 10.0) -> dict[int, str]:
    """The marked processes still alive after waiting up to `seconds` for them to end."""
    deadline = time.monotonic() + seconds
    left = probe_processes(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = probe_processes(marker)
    return left


class Probe:
    """A command started with a fresh marker; its output is collected line by line."""

    def __init__(self, cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.marker = uuid.uuid4().hex
        assert not probe_processes(self.marker)  # the process tree before: nothing of ours
        full_env = {**os.environ, **(env or {}), MARKER: self.marker, "PYTHONUNBUFFERED": "1"}
        full_env.pop("CNNKIT_QUICK", None)
        self.lines: list[str] = []
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output):
                return
            if self.proc.poll() is not None:
                self._reader.join(5)
                if re.search(pattern, self.output):
                    return
                break
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"no {pattern!r} in the output:\n{self.output[-4000:]}")

    def finish(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.proc.args[0]} did not end within {timeout} s:\n{self.output[-4000:]}")
        self._reader.join(10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for pid in probe_processes(self.marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def write_nb(path: Path, *sources: str, kernel: str = "rust") -> Path:
    nb = new_notebook(cells=[new_code_cell(src) for src in sources])
    if kernel == "rust":
        nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def rust_folder(tmp_path: Path) -> Path:
    """A folder for Rust notebooks, with the project's evcxr.toml (panics abort)."""
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "evcxr.toml").write_text((HERE / "notebooks" / "evcxr.toml").read_text())
    return folder


def require_evcxr() -> None:
    if not evcxr_installed():
        pytest.fail("evcxr_jupyter is not installed: run `make setup`")


def require_python_kernel() -> None:
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 kernel spec (ipykernel) in this venv")


def report_of(out: Path) -> dict[str, dict]:
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {nb["name"]: nb for nb in data["notebooks"]}


# --------------------------------------------------------------------------------------------
# (2) A file that is not a notebook


def test_bad_notebooks_are_reported_and_the_run_goes_on(tmp_path):
    """Not JSON, cut short, JSON but no notebook, not UTF-8, a folder: each fails with a
    reason that says what is wrong and what to do; the good notebook after them runs, and
    the report, index.html and the closing line cover all of them."""
    require_python_kernel()
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "a_not_json.ipynb").write_text("{ not json", encoding="utf-8")
    (folder / "b_cut_short.ipynb").write_text((HERE / "notebooks" / "good.ipynb").read_text()[:300])
    (folder / "c_list.ipynb").write_text("[1, 2, 3]")
    (folder / "d_bad_cell.ipynb").write_text(json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": "1"}]}))
    (folder / "e_binary.ipynb").write_bytes(b"\xff\xfe\x00{")
    (folder / "f_folder.ipynb").mkdir()
    write_nb(folder / "z_good.ipynb", "x = 6 * 7", "print(x)", kernel="python3")
    out = tmp_path / "out"

    probe = Probe([str(RUN), str(folder), "--out", str(out), "--kernel", "python3", "--no-shared-target"])
    rc = probe.finish(300)
    text = probe.output
    assert rc == 1, text
    assert text.splitlines()[-1] == "1 passed, 6 failed", text
    assert "Traceback" not in text
    nbs = report_of(out)
    assert nbs["z_good"]["status"] == "passed" and nbs["z_good"]["cells_run"] == 2
    assert (out / "executed" / "z_good.ipynb").exists() and (out / "html" / "z_good.html").exists()
    bad = {name: nb["failure"] for name, nb in nbs.items() if name != "z_good"}
    assert {f["reason"] for f in bad.values()} == {"invalid notebook"}
    assert "not valid JSON (line 1, column 3" in bad["a_not_json"]["message"]
    assert "not valid JSON" in bad["b_cut_short"]["message"] and "git checkout --" in bad["b_cut_short"]["message"]
    assert "JSON but not a valid notebook" in bad["c_list"]["message"]
    assert "JSON but not a valid notebook" in bad["d_bad_cell"]["message"]
    assert "not UTF-8 text" in bad["e_binary"]["message"]
    assert "is a folder, not a notebook file" in bad["f_folder"]["message"]
    failed_lines = [line for line in text.splitlines() if line.startswith("FAILED ")]
    assert len(failed_lines) == 6 and all("invalid notebook" in line for line in failed_lines), text
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "1 passed, 6 failed" in index and "not valid JSON" in index
    assert not wait_gone(probe.marker)


def test_invalid_notebook_messages_say_what_to_do(tmp_path):
    bad = tmp_path / "x.ipynb"
    bad.write_text('{"cells": [}')
    try:
        nbformat.read(bad, as_version=4)
    except Exception as exc:  # noqa: BLE001
        message = invalid_notebook_message(bad, exc)
    assert message.startswith("the file is not valid JSON (line 1, column 12")
    assert "git checkout -- " in message


def test_grading_executed_notebooks_survives_a_file_that_is_not_a_notebook(tmp_path, capsys):
    src = tmp_path / "source"
    sub = tmp_path / "kim"
    nb = new_notebook(cells=[new_code_cell("check()")])
    nb.cells[0].metadata["nbgrader"] = {"grade": True, "solution": False, "points": 2, "grade_id": "c1",
                                        "locked": True, "schema_version": 3}
    src.mkdir()
    for name in ("a.ipynb", "b.ipynb"):
        nbformat.write(nb, src / name)
    sub.mkdir()
    (sub / "a.ipynb").write_text("{ cut sh")  # a broken submission
    done = nbformat.read(src / "b.ipynb", as_version=4)
    done.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="✅ 정답입니다!\n")]
    nbformat.write(done, sub / "b.ipynb")
    rc = student.main(["grade", "--executed", str(sub), "--source", str(src)])
    captured = capsys.readouterr()
    assert rc == 0
    assert "a.ipynb: the file is not valid JSON" in captured.err
    assert re.search(r"a\.ipynb / c1 +missing +0/2", captured.out)
    assert re.search(r"b\.ipynb / c1 +correct +2/2", captured.out)
    assert "total 2/4 points" in captured.out


# --------------------------------------------------------------------------------------------
# (3) Two runs with the same output folder


def test_two_runs_with_the_same_output_folder_at_once(tmp_path):
    """Two `make run` at once: the second waits for the first and says so; both finish,
    both reports are whole, MathJax is installed once and completely."""
    require_python_kernel()
    nb = write_nb(tmp_path / "nb" / "slow.ipynb", "import time; time.sleep(8)", "print('done')", kernel="python3")
    out = tmp_path / "build"
    cmd = [str(RUN), str(nb), "--out", str(out), "--kernel", "python3", "--no-shared-target"]
    first = Probe(cmd)
    first.wait_for(r"\[1/1\] ", 120)  # the first run holds the folder and starts its notebook
    second = Probe(cmd)
    second.wait_for(r"This run waits", 60)
    assert first.finish(300) == 0, first.output
    assert second.finish(300) == 0, second.output
    for probe in (first, second):
        assert "Traceback" not in probe.output and "FileExistsError" not in probe.output, probe.output
        assert probe.output.splitlines()[-1] == "1 passed, 0 failed", probe.output
    assert re.search(r"the output folder .* is in use by pid \d+ \(cnnkit-run .*\)\. This run waits", second.output)
    assert "the other run has finished" in second.output
    nbs = report_of(out)
    assert nbs["slow"]["status"] == "passed"
    if report.MATHJAX_SRC.joinpath("MathJax.js").exists():
        assert (out / "_static" / "mathjax" / "MathJax.js").exists()
    assert not list(out.glob("_static/.mathjax-*")) and not list(out.rglob("*.tmp"))
    assert not wait_gone(first.marker) and not wait_gone(second.marker)


def test_mathjax_install_races_end_with_one_complete_copy(tmp_path):
    """Eight installers at once into one folder, then an outdated copy replaced: never an
    error, never half a copy, no temporary folders left."""
    src = tmp_path / "mathjax"
    (src / "extensions").mkdir(parents=True)
    (src / "MathJax.js").write_text("// MathJax")
    (src / "VERSION").write_text("2.7.9\n")
    for i in range(300):
        (src / "extensions" / f"e{i}.js").write_text(f"// {i}" * 50)
    out = tmp_path / "out"
    errors: list[BaseException] = []
    urls: list[str | None] = []

    def install() -> None:
        try:
            urls.append(report.install_mathjax(out, src))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=install) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(urls)) == 1 and urls[0].startswith("../_static/mathjax/MathJax.js")
    dest = out / "_static" / "mathjax"
    assert len(list((dest / "extensions").iterdir())) == 300
    assert sorted(p.name for p in (out / "_static").iterdir()) == ["mathjax"]
    (src / "VERSION").write_text("2.7.10\n")
    report.install_mathjax(out, src)
    assert (dest / "VERSION").read_text() == "2.7.10\n"
    assert sorted(p.name for p in (out / "_static").iterdir()) == ["mathjax"]


def test_cargo_profile_installers_at_once_do_not_collide(tmp_path):
    errors: list[BaseException] = []

    def install() -> None:
        try:
            for _ in range(20):
                (tmp_path / ".cargo" / "config.toml").unlink(missing_ok=True)
                install_cargo_profile(tmp_path)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=install) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert (tmp_path / ".cargo" / "config.toml").read_text() == CARGO_PROFILE.read_text()
    assert not list((tmp_path / ".cargo").glob("*.tmp"))


# --------------------------------------------------------------------------------------------
# (4) SIGTERM, SIGINT and kill -9


SLEEPER = ['let x = 1;', 'println!("sleeping");\nstd::thread::sleep(std::time::Duration::from_secs(600));', "x + 1"]


def kernel_and_evaluation(marker: str) -> tuple[list[int], list[int]]:
    """(kernel pids, evaluation pids) among the marked evcxr processes."""
    found = probe_processes(marker)
    kernels = [p for p, cmd in found.items() if "evcxr_jupyter" in cmd and "--control_file" in cmd]
    evals = [p for p, cmd in found.items() if "evcxr_jupyter" in cmd and "--control_file" not in cmd]
    return kernels, evals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_runner_ends_its_kernels_and_their_children(tmp_path, signum):
    """A CI time-out (SIGTERM) or Ctrl-C (SIGINT) while a cell runs: the kernel and its
    evaluation process end at once, the running notebook is reported as interrupted, the
    next one as not run, and the report and the closing line are still written."""
    require_evcxr()
    folder = rust_folder(tmp_path)
    write_nb(folder / "a_sleeps.ipynb", *SLEEPER)
    write_nb(folder / "b_next.ipynb", "1 + 1")
    out = tmp_path / "out"
    probe = Probe([str(RUN), str(folder), "--out", str(out), "--no-html", "--echo"])
    probe.wait_for(r"\| sleeping", 300)
    kernels, evals = kernel_and_evaluation(probe.marker)
    assert kernels and evals, probe_processes(probe.marker)  # the tree while the cell runs
    t0 = time.monotonic()
    probe.proc.send_signal(signum)
    rc = probe.finish(60)
    assert time.monotonic() - t0 < 30
    text = probe.output
    assert rc == 128 + signum, text
    name = processes.signal_name(signum)
    assert f"{name} received: ending the kernels and their processes" in text
    assert text.splitlines()[-1] == "0 passed, 2 failed", text
    assert f"stopped by {name}: the kernels and their processes were ended; 1 notebook(s) did not run" in text
    nbs = report_of(out)
    f = nbs["a_sleeps"]["failure"]
    assert (f["reason"], f["code_cell"]) == ("interrupted", 2)
    assert f"stopped by {name} while this cell ran" in f["message"]
    assert nbs["b_next"]["failure"]["message"].startswith(f"not run: the run was stopped by {name}")
    assert not wait_gone(probe.marker, 5), "processes left running"


def test_a_kernel_killed_with_kill_9_leaves_no_evaluation_process(tmp_path):
    """kill -9 of the kernel while a cell runs: its evaluation process is ended with it,
    the notebook fails with the reason, and the run goes on with the next notebook."""
    require_evcxr()
    folder = rust_folder(tmp_path)
    write_nb(folder / "a_sleeps.ipynb", *SLEEPER)
    write_nb(folder / "b_next.ipynb", "1 + 1")
    out = tmp_path / "out"
    probe = Probe([str(RUN), str(folder), "--out", str(out), "--no-html", "--echo"])
    probe.wait_for(r"\| sleeping", 300)
    kernels, evals = kernel_and_evaluation(probe.marker)
    assert len(kernels) == 1 and evals, probe_processes(probe.marker)
    os.kill(kernels[0], signal.SIGKILL)
    probe.wait_for(r"\[2/2\]", 60)
    assert not any(processes.alive(p) for p in evals), "the evaluation process outlived its kernel"
    rc = probe.finish(120)
    text = probe.output
    assert rc == 1, text
    assert text.splitlines()[-1] == "1 passed, 1 failed", text
    f = report_of(out)["a_sleeps"]["failure"]
    assert (f["reason"], f["code_cell"]) == ("kernel died", 2)
    assert "killed by SIGKILL" in f["message"] and "out-of-memory killer" in f["message"]
    assert re.search(r"Its processes that were still running \([\d, ]+\) have been ended", f["message"])
    assert str(evals[0]) in f["message"]
    assert not wait_gone(probe.marker, 5)


# --------------------------------------------------------------------------------------------
# (5) Huge output


def test_output_is_capped_with_a_note_and_a_flood_is_stopped(tmp_path):
    """A cell printing 20,000 lines (300 kB) with a 100 kB cap keeps its first 100 kB, a
    note of what was dropped, and its last 25 kB; the notebook goes on. A cell printing
    without end is stopped at five times the cap, quickly, with a message; the pages stay
    small and nothing is left running."""
    require_evcxr()
    folder = rust_folder(tmp_path)
    write_nb(folder / "a_big.ipynb", 'for i in 0..20_000 { println!("line {:>8}", i); }', 'println!("after");')
    write_nb(folder / "b_flood.ipynb", 'let mut i = 0u64;\nloop { println!("line {:>8}", i); i += 1; }', "1")
    out = tmp_path / "out"
    probe = Probe([str(RUN), str(folder), "--out", str(out), "--max-output", "100k"])
    rc = probe.finish(300)
    text = probe.output
    assert rc == 1, text
    assert text.splitlines()[-1] == "1 passed, 1 failed", text
    assert "output cap 100 kB per cell" in text
    nbs = report_of(out)
    big = nbformat.read(out / "executed" / "a_big.ipynb", as_version=4)
    stdout = big.cells[0].outputs[0]["text"]
    assert stdout.startswith("line        0\n") and stdout.endswith("line    19999\n")
    note = re.search(r"\[\.\.\. (.+?) \(([\d,]+) lines\) of output dropped here / 출력이 너무 길어", stdout)
    assert note, stdout[:200]
    kept_lines = stdout.count("\n") - 1  # the note is one line
    assert kept_lines + int(note.group(2).replace(",", "")) == 20_000  # every line accounted for
    assert len(stdout) < 100_000 + 25_000 + 1_000
    assert "--max-output SIZE or NBRUN_MAX_OUTPUT=SIZE" in stdout
    assert big.cells[1].outputs[0]["text"] == "after\n"
    assert nbs["a_big"]["status"] == "passed" and nbs["a_big"]["output_dropped"] > 150_000
    f = nbs["b_flood"]["failure"]
    assert f["reason"] == "too much output" and f["code_cell"] == 1
    assert "printed more than 500 kB (5 times the output limit of 100 kB)" in f["message"]
    assert nbs["b_flood"]["seconds"] < 120
    assert os.path.getsize(out / "html" / "b_flood.html") < 600_000
    assert os.path.getsize(out / "executed" / "b_flood.ipynb") < 300_000
    assert not wait_gone(probe.marker, 5)


def test_text_cap_keeps_head_note_and_tail():
    cell = new_code_cell("x")
    cell.outputs = []
    text = _Text(cell, 1000)
    for i in range(500):
        text.add("stdout", f"{i:04d} 한글\n")  # 12 bytes a line
    text.flush()
    out = cell.outputs[0]["text"]
    head, rest = out.split("[... ", 1)
    assert head.startswith("0000 한글\n") and len(head.encode()) <= 1000 and head.endswith("\n")
    assert rest.endswith("0499 한글\n")
    tail = rest.split("...]\n", 1)[1]
    assert len(tail.encode()) <= 250
    lines = int(re.search(r"\(([\d,]+) lines\)", rest).group(1).replace(",", ""))
    assert head.count("\n") + lines + tail.count("\n") == 500
    assert text.dropped() == 500 * 12 - len(head.encode()) - len(tail.encode())
    small = new_code_cell("y")
    small.outputs = []
    t = _Text(small, 1000)
    t.add("stdout", "short\n")
    t.add("stderr", "warning\n")
    t.flush()
    assert [(o["name"], o["text"]) for o in small.outputs] == [("stdout", "short\n"), ("stderr", "warning\n")]
    assert TAIL == 64_000


def test_max_output_option_and_environment_variable(monkeypatch):
    assert parse_size("1M") == 1_000_000 and parse_size("500k") == 500_000 and parse_size("0") == 0
    monkeypatch.delenv("NBRUN_MAX_OUTPUT", raising=False)
    assert default_max_output("x") == 1_000_000
    monkeypatch.setenv("NBRUN_MAX_OUTPUT", "2M")
    assert default_max_output("x") == 2_000_000
    assert run_parser().parse_args(["--max-output", "250k"]).max_output == 250_000
    monkeypatch.setenv("NBRUN_MAX_OUTPUT", "lots")
    with pytest.raises(SystemExit, match="NBRUN_MAX_OUTPUT: not a size"):
        default_max_output("cnnkit-run")


# --------------------------------------------------------------------------------------------
# (11) An endless loop in a homework function, graded


TASK = """fn answer() -> Option<u32> {
    // BEGIN SOLUTION
    Some(42)
    // END SOLUTION
    // BEGIN PLACEHOLDER
    // None
    // END PLACEHOLDER
}"""
TASK2 = """fn double(x: u32) -> Option<u32> {
    // BEGIN SOLUTION
    Some(2 * x)
    // END SOLUTION
    // BEGIN PLACEHOLDER
    // None
    // END PLACEHOLDER
}"""
CHECKERS = """fn check(v: Option<u32>, want: u32) -> &'static str {
    match v {
        Some(x) if x == want => "✅ 정답입니다! (hw)",
        None => "⏳ 아직 풀지 않았습니다 (hw)",
        Some(_) => "❌ 틀렸습니다 (hw)",
    }
}"""


def _graded(cell, grade_id, **meta):
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, **meta}
    return cell


def homework_notebook(task: str, task2: str):
    nb = new_notebook(cells=[
        new_markdown_cell("# 숙제"),
        _graded(new_code_cell(task), "answer", solution=True, grade=False, locked=False),
        new_code_cell(CHECKERS),
        _graded(new_code_cell("check(answer(), 42)"), "answer_check", solution=False, grade=True, locked=True, points=3),
        _graded(new_code_cell(task2), "double", solution=True, grade=False, locked=False),
        _graded(new_code_cell("check(double(21), 42)"), "double_check", solution=False, grade=True, locked=True, points=2),
    ])
    nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
    return nb


def test_grading_an_endless_loop_costs_only_that_check(tmp_path):
    """A homework function that never returns: its check cell is stopped after the grading
    time-out, scores `timeout` with a message in Korean and English, and grading goes on:
    the next check is scored as usual."""
    require_evcxr()
    source = rust_folder(tmp_path)
    nbformat.write(homework_notebook(TASK, TASK2), source / "hw.ipynb")
    kim = tmp_path / "kim"
    kim.mkdir()
    (kim / "evcxr.toml").write_text((source / "evcxr.toml").read_text())
    nbformat.write(homework_notebook("fn answer() -> Option<u32> {\n    loop {}\n}", TASK2), kim / "hw.ipynb")
    grades = tmp_path / "kim.csv"
    t0 = time.monotonic()
    probe = Probe([str(STUDENT), "grade", str(kim / "hw.ipynb"), "--source", str(source), "--out",
                   str(tmp_path / "graded"), "--csv", str(grades)], env={"NBRUN_GRADE_TIMEOUT": "5"})
    rc = probe.finish(300)
    text = probe.output
    assert rc == 0, text
    assert time.monotonic() - t0 < 200
    assert re.search(r"hw\.ipynb / answer_check +timeout +0/3", text), text
    assert "셀이 제한 시간 5초 안에 끝나지 않아 실행을 멈췄습니다" in text
    assert "did not finish within its time limit of 5 s and was stopped" in text
    assert re.search(r"hw\.ipynb / double_check +correct +2/2", text), text
    assert "total 2/5 points" in text
    rows = list(csv.DictReader(grades.open(encoding="utf-8")))
    assert [(r["grade_id"], r["verdict"], r["earned"]) for r in rows] == [
        ("answer_check", "timeout", "0.0"), ("double_check", "correct", "2.0")]
    executed = nbformat.read(tmp_path / "graded" / "executed" / "hw.ipynb", as_version=4)
    assert student.verdict(executed.cells[3]) == "timeout"
    assert not wait_gone(probe.marker, 5)


def test_grading_timeout_defaults_and_dep_cells(monkeypatch):
    monkeypatch.delenv("NBRUN_GRADE_TIMEOUT", raising=False)
    assert student.parser().parse_args(["grade", "x.ipynb"]).timeout == student.DEFAULT_GRADE_TIMEOUT == 120
    assert student.parser().parse_args(["check", "x.ipynb", "--timeout", "30"]).timeout == 30
    monkeypatch.setenv("NBRUN_GRADE_TIMEOUT", "45")
    assert student.parser().parse_args(["check", "x.ipynb"]).timeout == 45
    dep = new_code_cell('// the crates\n:dep cnnkit = { path = "../../crates/cnnkit" }')
    tagged = new_code_cell("train()")
    tagged.metadata["tags"] = ["timeout=3600"]
    assert rules.cell_timeout(dep, 120, 3600) == 3600 and rules.cell_timeout(dep, 120) == 120
    assert rules.cell_timeout(tagged, 120, 3600) == 3600
    assert rules.cell_timeout(new_code_cell("check(f)"), 120, 3600) == 120


# --------------------------------------------------------------------------------------------
# (1) A panic (a `todo!()` left in place) in one task function, graded


def test_grading_a_panicking_task_costs_only_that_task(tmp_path):
    """A student left `todo!()` in the first task and runs its "try it" cell, which panics:
    the notebook goes on (evcxr keeps the functions, loses the variables), the first check
    scores an error with 0 points, and the second, correct task gets its points."""
    require_evcxr()
    source = rust_folder(tmp_path)
    nbformat.write(homework_notebook(TASK, TASK2), source / "hw.ipynb")
    lee = tmp_path / "lee"
    lee.mkdir()
    (lee / "evcxr.toml").write_text((source / "evcxr.toml").read_text())
    nb = homework_notebook("fn answer() -> Option<u32> {\n    todo!()\n}", TASK2)
    # The student's "try it" cell right after the task: it panics.
    nb.cells.insert(2, new_code_cell("answer()"))
    nbformat.write(nb, lee / "hw.ipynb")
    grades = tmp_path / "lee.csv"
    probe = Probe([str(STUDENT), "grade", str(lee / "hw.ipynb"), "--source", str(source), "--out",
                   str(tmp_path / "graded"), "--csv", str(grades)])
    rc = probe.finish(300)
    text = probe.output
    assert rc == 0, text
    assert re.search(r"hw\.ipynb / answer_check +\w+ +0/3", text), text
    assert re.search(r"hw\.ipynb / double_check +correct +2/2", text), text
    assert "total 2/5 points" in text
    rows = {r["grade_id"]: r for r in csv.DictReader(grades.open(encoding="utf-8"))}
    assert rows["answer_check"]["earned"] == "0.0" and rows["double_check"]["earned"] == "2.0"
    assert not wait_gone(probe.marker, 5)
