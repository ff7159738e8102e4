"""What the tools print on the terminal: progress lines that line up with Hangul in them."""

from __future__ import annotations

import unicodedata


def say(text: str = "", end: str = "\n") -> None:
    print(text, end=end, flush=True)


def first_line(source: str, width: int = 70) -> str:
    """The first non-blank line of a cell's source, shortened to `width` characters."""
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


def pad(text: str, width: int) -> str:
    """Pads to a terminal width, counting Hangul and other wide characters as two columns."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)


def indent(text: str, prefix: str = "    | ", limit: int = 60) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines in the HTML page)"]
    return "\n".join(prefix + line for line in lines)
