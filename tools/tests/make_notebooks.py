#!/usr/bin/env python3
"""Writes the small notebooks under tools/tests/notebooks/ that the runner's self-tests run.

    .venv/bin/python tools/tests/make_notebooks.py

Each one holds plain Rust only (no cnnkit), so a kernel runs it in seconds. The files are
committed; run this again after changing a notebook here.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent / "notebooks"


def code(source: str, *tags: str):
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


NOTEBOOKS = {
    # Passes: plain cells, an Ok `?`, stderr that is allowed by its tag, and an
    # `expect-error` cell that really does not compile.
    "good": [
        new_markdown_cell("# 좋은 노트북\n\n행렬 $2 \\times 2$ 의 합성곱 예시: $$y = \\sum_i w_i x_i + b$$"),
        code("let x = 2 + 2;"),
        code('println!("x = {x}");\nx * 10'),
        code('let n: i32 = "42".parse()?;\nn + x'),
        new_markdown_cell("The next cell is a mistake on purpose: the compiler rejects it."),
        code('let s: String = 5; // 일부러 틀린 코드', "expect-error"),
        code('eprintln!("progress goes to stderr here, on purpose");', "allow-stderr"),
        code("x + 1"),
    ],
    # Fails with a compile error in its second code cell.
    "compile_error": [
        code("let a = 1;"),
        code('let b: i32 = "two";'),
        code("a"),
    ],
    # Fails with a panic (index out of bounds) in its second code cell.
    "panic": [
        code("let v = vec![1, 2, 3];"),
        code("let i = 10;\nv[i]"),
        code("v.len()"),
    ],
    # Fails: a top-level `?` on an Err, which evcxr itself reports as success.
    "question_mark_err": [
        code("let x = 1;"),
        code('println!("before the error");\nlet n: i32 = "abc".parse()?;\nn'),
        code("x"),
    ],
    # Fails: the second cell sleeps longer than its `timeout=3` tag allows.
    "timeout": [
        code("let x = 1;"),
        code("std::thread::sleep(std::time::Duration::from_secs(600));", "timeout=3"),
        code("x"),
    ],
    # Fails: a cell tagged `expect-error` (must fail) that compiles and runs fine.
    "expect_error_but_compiles": [
        code("let ok = 1 + 1;", "expect-error"),
        code("ok"),
    ],
    # Passes: nbclient's `raises-exception` means the cell MAY fail: one that fails (a
    # compile error, then stderr output) and one that does not, then cells that run on.
    "may_fail": [
        code("let y = 3;"),
        code('let z: u8 = "three";', "raises-exception"),
        code('let n: i32 = "abc".parse()?;', "raises-exception"),
        code("let w = y * 2;", "raises-exception"),
        code("w + y"),
    ],
}


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
        nb.metadata["language_info"] = {"name": "Rust", "file_extension": ".rs"}
        for i, cell in enumerate(nb.cells):
            cell.id = f"{name[:20]}-{i}"
        nbformat.validate(nb)
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"wrote {HERE / name}.ipynb")


if __name__ == "__main__":
    main()
