"""When a cell fails: the runner's verdict on a cell's outputs, and the cell tags it reads.

A cell FAILS when
  * evcxr reports an error: a compile error, a failed `:dep`, or the evaluation process
    dying (a panic with `preserve_vars_on_panic = false` in notebooks/evcxr.toml aborts it);
  * it writes anything but blank lines to stderr, unless it is tagged `allow-stderr`.
    evcxr reports success for a top-level `?` on an `Err` and only prints the error's
    Display text to stderr, and a panic caught by evcxr's default setting is only a
    message on stderr too. Cargo's build output for `:dep` and compiler warnings never
    reach a cell's stderr, so a clean cell has none;
  * it runs longer than its timeout (--timeout, or a tag `timeout=SECONDS` on the cell);
  * it is tagged `raises-exception` and does NOT fail by the rules above (such a cell
    shows a mistake on purpose, e.g. a shape error the compiler catches).
"""

from __future__ import annotations

import re
from typing import Any

TAG_RAISES = "raises-exception"
TAG_ALLOW_STDERR = "allow-stderr"
TAG_TIMEOUT = re.compile(r"^timeout=(\d+)$")
PANIC_LINE = re.compile(r"^thread '.*' .*panicked at ", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_timeout(cell: Any, default: int) -> int:
    for tag in tags(cell):
        m = TAG_TIMEOUT.match(tag)
        if m:
            return int(m.group(1))
    return default


def judge_cell(cell: Any) -> tuple[str, str] | None:
    """Returns (reason, message) when the cell's outputs show a failure, else None."""
    stderr = "".join(
        o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    # A panic fails the cell even where stderr is allowed: with evcxr's default setting
    # (preserve_vars_on_panic = true) its message on stderr is the only sign of it.
    if PANIC_LINE.search(stderr):
        return "panic", panic_message(stderr)
    if errors:
        err = errors[0]
        evalue = strip_ansi(err.get("evalue", ""))
        traceback = strip_ansi("\n".join(err.get("traceback", []))).strip()
        if evalue.startswith("Subprocess terminated"):
            return "crash", (stderr.strip() + "\n" + evalue).strip()
        return "compile error", traceback or evalue
    if stderr.strip() and TAG_ALLOW_STDERR not in tags(cell):
        return "stderr output", (
            "the cell wrote to stderr (a top-level `?` on an Err prints only the error's text there; "
            f"tag the cell `{TAG_ALLOW_STDERR}` if the output is intended):\n" + stderr.strip()
        )
    return None


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
