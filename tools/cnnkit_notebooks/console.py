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


def human_size(n: int) -> str:
    """Bytes for people: 950 B, 64 kB, 1 MB, 48.9 MB (powers of 1000, like the option's sizes)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            value = n / size
            text = f"{value:.0f}" if value >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{n} B"


def parse_size(text: str) -> int:
    """`1000000`, `500k`, `1M`, `2MB`, `1.5G` -> bytes (powers of 1000; `Ki`, `Mi`: 1024); `0` means no limit."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(i?)[bB]?\s*", str(text))
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 1000000, 500k, 1M, 2MB)")
    base = 1024 if m.group(3) else 1000
    power = {"": 0, "k": 1, "m": 2, "g": 3}[m.group(2).lower()]
    return int(float(m.group(1)) * base**power)
