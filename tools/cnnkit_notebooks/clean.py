"""cnnkit-clean: checks that notebooks are committed without outputs, or strips them.

    cnnkit-clean              # check notebooks/ (exit 1 if any has outputs; make check-clean)
    cnnkit-clean --strip      # remove outputs in place (make strip)
    cnnkit-clean a.ipynb      # only these files

Without the venv (standard library only, from the repository's root):
    PYTHONPATH=tools python3 -m cnnkit_notebooks.clean [--strip]

A code cell is clean when it has no outputs, no execution count and no `execution`
timing metadata (nbclient and JupyterLab add these). Uses only the standard library and
writes files the way Jupyter does (one-space indent, sorted keys, UTF-8 kept as is), so a
strip changes nothing but the removed outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .paths import NOTEBOOKS


def find_notebooks(paths: list[str]) -> list[Path]:
    if not paths:
        paths = [str(NOTEBOOKS)]
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += [
                q for q in sorted(p.rglob("*.ipynb")) if ".ipynb_checkpoints" not in q.parts
            ]
        else:
            found.append(p)
    return found


def problems(nb: dict) -> list[str]:
    """Returns one line per dirty cell."""
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        what = []
        if cell.get("outputs"):
            what.append(f"{len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            what.append(f"execution_count {cell['execution_count']}")
        if "execution" in cell.get("metadata", {}):
            what.append("execution timing metadata")
        if what:
            out.append(f"cell {i}: " + ", ".join(what))
    return out


def strip(nb: dict) -> None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            cell.get("metadata", {}).pop("execution", None)


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="cnnkit-clean", description=__doc__.splitlines()[0].split(": ", 1)[1])
    ap.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/)")
    ap.add_argument("--strip", action="store_true", help="remove outputs in place")
    args = ap.parse_args(argv)

    notebooks = find_notebooks(args.paths)
    dirty = 0
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        found = problems(nb)
        if not found:
            continue
        if args.strip:
            strip(nb)
            path.write_text(dumps(nb), encoding="utf-8")
            print(f"stripped {path} ({len(found)} cell(s))")
        else:
            dirty += 1
            print(f"{path}: has outputs (run 'make strip')")
            for line in found:
                print(f"  {line}")
    if args.strip:
        print(f"{len(notebooks)} notebook(s) checked, outputs removed where there were any")
        return 0
    if dirty:
        print(f"{dirty} of {len(notebooks)} notebook(s) have outputs or execution counts")
        return 1
    print(f"{len(notebooks)} notebook(s) clean (no outputs, no execution counts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
