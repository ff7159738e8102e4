"""When a cell fails: the runner's verdict on a cell's outputs, and the cell tags it reads.

A cell FAILS when
  * evcxr reports an error: a compile error, a failed `:dep`, or the evaluation process
    dying (a panic with `preserve_vars_on_panic = false` in notebooks/evcxr.toml aborts it);
  * it writes anything but blank lines to stderr, unless it is tagged `allow-stderr`.
    evcxr reports success for a top-level `?` on an `Err` and only prints the error's
    Display text to stderr, and a panic caught by evcxr's default setting is only a
    message on stderr too. Cargo's build output for `:dep` and compiler warnings never
    reach a cell's stderr, so a clean cell has none;
  * it runs longer than its timeout (--timeout, or a tag `timeout=SECONDS` on the cell;
    grading runs give cells that start with `:dep`, which compile crates, a longer one);
  * it is tagged `expect-error` and does NOT fail by the rules above (such a cell shows a
    mistake on purpose, e.g. a shape error the compiler catches);
  * it prints more than five times the output cap (--max-output, 1 MB): the runner then
    stops it (`too much output`). Below that, output beyond the cap is only dropped, with
    a note in the cell of how much.
A notebook fails, besides, when its kernel does not start or dies, when the file is not a
valid notebook, and when the run is stopped (SIGINT, SIGTERM) before the notebook ends.
`Reason` names each case; its values are what the reports show.

Cell tags (TAGS below): Jupyter's tags keep the meaning Jupyter gives them, and the
runner's stricter rule has a name of its own.

    expect-error       the cell must fail (by the rules above, not by a timeout); the
                       runner fails the notebook when it runs cleanly
    raises-exception   nbclient's tag: the cell MAY fail; its failure does not stop or
                       fail the notebook (a timeout still does)
    allow-stderr       stderr output does not fail the cell (a panic still does)
    timeout=SECONDS    this cell's own timeout instead of the run's
    skip-execution     nbclient's tag: the cell is not run
"""

from __future__ import annotations

import enum
import re
from typing import Any

TAG_EXPECT_ERROR = "expect-error"  # ours: the cell must fail
TAG_RAISES = "raises-exception"  # nbclient's: the cell may fail
TAG_ALLOW_STDERR = "allow-stderr"
TAG_SKIP = "skip-execution"  # nbclient's: the cell is not run
TAG_TIMEOUT = re.compile(r"^timeout=(\d+)$")
#: The `ename` of the error output a grading run adds to a cell that ran out of time.
TIMEOUT_ENAME = "Timeout"
PANIC_LINE = re.compile(r"^thread '.*' .*panicked at ", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Reason(str, enum.Enum):
    """Why a notebook failed. The value is the text in the terminal report, index.html and
    report.json (`"reason"`), so `Reason(report["reason"])` reads a report back."""

    COMPILE_ERROR = "compile error"  # evcxr reported an error: the compiler, a failed :dep
    PANIC = "panic"  # a `thread '...' panicked at` line on stderr
    CRASH = "crash"  # the evaluation process ended (std::process::exit, an abort)
    STDERR = "stderr output"  # non-blank stderr in a cell not tagged allow-stderr
    TIMEOUT = "timeout"  # the cell ran longer than its timeout
    EXPECTED_ERROR_MISSING = "expect-error cell did not fail"
    DEAD_KERNEL = "kernel died"  # the kernel process died while a cell ran
    KERNEL_ERROR = "kernel error"  # the kernel did not start, or the run broke down
    INVALID_NOTEBOOK = "invalid notebook"  # not JSON, or not valid nbformat 4
    OUTPUT_LIMIT = "too much output"  # the cell printed many times --max-output and was stopped
    INTERRUPTED = "interrupted"  # the run was stopped (SIGINT, SIGTERM) before the notebook ended

    def __str__(self) -> str:
        return self.value


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


#: Every tag the runner reads (timeout=N aside), with its meaning (see the module docstring).
TAGS = {
    TAG_EXPECT_ERROR: "the cell must fail; the notebook fails when it runs cleanly",
    TAG_RAISES: "nbclient's: the cell may fail without failing the notebook",
    TAG_ALLOW_STDERR: "stderr output does not fail the cell (a panic still does)",
    TAG_SKIP: "nbclient's: the cell is not run",
}


def tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_timeout(cell: Any, default: int, dep_default: int | None = None) -> int:
    """The cell's timeout: its tag `timeout=N`, else `default`; with `dep_default`, a cell
    that starts with `:dep` (it compiles crates, minutes on a cold cache) gets at least that."""
    for tag in tags(cell):
        m = TAG_TIMEOUT.match(tag)
        if m:
            return int(m.group(1))
    if dep_default is not None and is_dep_cell(cell):
        return max(default, dep_default)
    return default


def is_dep_cell(cell: Any) -> bool:
    """Whether the cell's first line of code is an evcxr `:dep` command."""
    for line in cell.get("source", "").splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            return line.startswith(":dep")
    return False


def judge_cell(cell: Any) -> tuple[Reason, str] | None:
    """Returns (reason, message) when the cell's outputs show a failure, else None. The
    tags that change what a failure means are applied by `check_cell`."""
    stderr = "".join(
        o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    # A panic fails the cell even where stderr is allowed: with evcxr's default setting
    # (preserve_vars_on_panic = true) its message on stderr is the only sign of it.
    if PANIC_LINE.search(stderr):
        return Reason.PANIC, panic_message(stderr)
    if errors:
        err = errors[0]
        evalue = strip_ansi(err.get("evalue", ""))
        traceback = strip_ansi("\n".join(err.get("traceback", []))).strip()
        if evalue.startswith("Subprocess terminated"):
            return Reason.CRASH, (stderr.strip() + "\n" + evalue).strip()
        return Reason.COMPILE_ERROR, traceback or evalue
    if stderr.strip() and TAG_ALLOW_STDERR not in tags(cell):
        return Reason.STDERR, (
            "the cell wrote to stderr (a top-level `?` on an Err prints only the error's text there; "
            f"tag the cell `{TAG_ALLOW_STDERR}` if the output is intended):\n" + stderr.strip()
        )
    return None


def check_cell(cell: Any) -> tuple[tuple[Reason, str] | None, str]:
    """The verdict on a cell that has run, with its tags applied: (failure or None, what the
    progress line says after the cell)."""
    found = judge_cell(cell)
    if TAG_EXPECT_ERROR in tags(cell):
        if found is None:
            return (
                Reason.EXPECTED_ERROR_MISSING,
                f"the cell is tagged `{TAG_EXPECT_ERROR}` but ran without an error "
                f"(a cell that may fail or not is tagged `{TAG_RAISES}`)",
            ), "FAILED"
        return None, f"ok, failed as expected ({found[0]})"
    if found is not None and TAG_RAISES in tags(cell):
        return None, f"ok, failed ({found[0]}; allowed by {TAG_RAISES})"
    if found is not None:
        return found, "FAILED"
    return None, "ok"


def late_failure(cell: Any) -> tuple[Reason, str] | None:
    """The verdict on an earlier cell whose output arrived late (while a later cell ran):
    only a cell without a tag about failing can still fail (an `expect-error` cell was
    judged when it ended; a `raises-exception` cell may fail)."""
    if TAG_EXPECT_ERROR in tags(cell) or TAG_RAISES in tags(cell):
        return None
    return judge_cell(cell)


def panic_message(stderr: str) -> str:
    """The panic's location line and message, without the backtrace evcxr always prints."""
    lines = stderr.strip("\n").splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if PANIC_LINE.search(line):
            out.append(line.strip())
            for more in lines[i + 1 :]:
                if more.startswith("stack backtrace:") or more.startswith("note: "):
                    break
                out.append(more)
            break
    return "\n".join(out) or stderr.strip()
