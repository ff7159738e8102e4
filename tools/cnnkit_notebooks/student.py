"""cnnkit-student: student notebooks from the instructor's exercise notebooks; checking and
grading them.

    cnnkit-student build [PATHS] [-o OUT]     # notebooks/exercises -> build/student (make student)
    cnnkit-student validate [PATHS]           # only check the markers and the nbgrader metadata
    cnnkit-student check build/student/ex01_cnn_arithmetic.ipynb
                                              # run a student's notebook, show every check's verdict
    cnnkit-student grade submissions/kim --csv build/graded/kim.csv
                                              # run submissions, score them against notebooks/exercises
    cnnkit-student grade --executed build/graded/kim/executed   # score notebooks run already

`check` and `grade` run each notebook with a fresh kernel as cnnkit-run does
(`run.NotebookRun`; --quick for quick mode), keep the executed notebooks in the output
folder (default build/check, build/graded) and read each check cell's verdict from its
output. Unlike cnnkit-run they go on after a failing cell, so that every check gets its
own verdict, and a cell may run only --timeout seconds (default 120, NBRUN_GRADE_TIMEOUT;
a cell tagged timeout=N keeps N, and `:dep` cells, which compile crates, get at least an
hour): a cell out of time (an endless loop in a homework function) is stopped, its check
scores `timeout` with a message in Korean and English, and grading goes on with the next
cell in a new evaluation process (functions are kept, variables are lost). `grade` takes
the points and the check cells from the instructor notebook of the same file name (by nbgrader grade_id) and gives nothing for a check cell whose code was
changed. The old flags still work: no subcommand means `build`, `--check` means
`validate`, `--grade` means `grade --executed`.

Conventions in an instructor notebook (see docs/instructors.md):

* A task cell holds the solution between two comment lines containing `BEGIN SOLUTION` and
  `END SOLUTION` (nbgrader's markers in Rust comment form), followed by the placeholder the
  student gets, commented out, between `// BEGIN PLACEHOLDER` and `// END PLACEHOLDER`:

      fn total_params() -> Option<u64> {
          // BEGIN SOLUTION
          Some(layers().iter().map(|l| l.params()).sum())
          // END SOLUTION
          // BEGIN PLACEHOLDER
          // None
          // END PLACEHOLDER
      }

  The student version replaces the solution region by one comment line (STUB) and
  uncomments the placeholder (the first `//` and one space after it are removed from every
  line; the marker lines are dropped):

      fn total_params() -> Option<u64> {
          // 여기에 코드를 작성하세요 (YOUR CODE HERE)
          None
      }

* A markdown cell may hold instructor notes between `<!-- BEGIN SOLUTION -->` and
  `<!-- END SOLUTION -->`; they become TEXT_STUB.
* A short-answer question graded by hand is a markdown answer cell with nbgrader metadata
  `{"grade": true, "solution": true, "task": false, "points": N, ...}` whose model answer
  lies between `<!-- BEGIN SOLUTION -->` and `<!-- END SOLUTION -->` (the student gets
  TEXT_STUB to replace). `grade` lists it as `manual`, with no points until graded by hand.
* A task cell may list the reference implementations it must not use, in the cell metadata
  `{"cnnkit": {"forbidden": ["conv2d", "Conv2D", ...]}}` (identifiers: functions, types,
  modules). `check` and `grade` look for them in the task cell and in every code cell the
  student added or changed, with comments and strings left out, so that
  `use cnnkit::ops::conv2d as c;` in another cell is found too. A task that uses one gets
  zero points in the check cells after it (up to the next task cell), with a message in
  Korean and English that says why (`forbidden`).
* A check of several cases may print a line `점수 (points): 6.6/10` (the checker's
  partial credit, cnnkit::exercises::Credit); `grade` then gives the check cell that share
  of its points (`partial`). In grading mode the checker makes the number the cell's
  result, which is how nbgrader gives partial credit.
* Task cells carry nbgrader metadata `{"solution": true, "grade": false, ...}`; check cells
  `{"grade": true, "solution": false, "locked": true, "points": N, ...}`. Every check cell
  ends with a checker call whose verdict starts with 정답입니다! / 아직 풀지 않았습니다 /
  틀렸습니다.

The student notebooks have no outputs and no execution counts; nbgrader metadata is kept.
To release and grade with nbgrader instead, call configure_nbgrader (below) from
nbgrader_config.py. Files other than notebooks in the source folder (evcxr.toml) are copied
along.
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import nbformat

from .paths import BUILD, EXERCISES, ROOT
from .rules import TIMEOUT_ENAME

DEFAULT_SRC = EXERCISES
DEFAULT_OUT = BUILD / "student"
#: Seconds a cell may run when checking or grading (NBRUN_GRADE_TIMEOUT); see the docstring.
DEFAULT_GRADE_TIMEOUT = 120

BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_PLACEHOLDER = "BEGIN PLACEHOLDER"
END_PLACEHOLDER = "END PLACEHOLDER"
STUB = "// 여기에 코드를 작성하세요 (YOUR CODE HERE)"
TEXT_STUB = "_여기에 답을 쓰세요 (YOUR ANSWER HERE)_"

# The checkers' headline phrases (cnnkit::exercises::{CORRECT,NOT_DONE,WRONG}_PHRASE).
CORRECT = "정답입니다!"
NOT_DONE = "아직 풀지 않았습니다"
WRONG = "틀렸습니다"

DEP_LINE = re.compile(r'^(\s*:dep\s+cnnkit\s*=\s*\{.*?\bpath\s*=\s*")([^"]*)(".*)$')


class MarkerError(ValueError):
    """A notebook's markers are inconsistent; the message names the notebook and cell."""


# --------------------------------------------------------------------------------------------
# Cell transformations


def _marker(line: str, word: str) -> bool:
    return word in line


def strip_code(source: str, where: str = "cell") -> str:
    """The student form of a code cell's source (see the module docstring)."""
    out: list[str] = []
    state = "code"  # code | solution | placeholder
    for n, line in enumerate(source.split("\n"), start=1):
        here = f"{where}, line {n}"
        if state == "code":
            if _marker(line, BEGIN_SOLUTION):
                indent = re.match(r"\s*", line).group(0)
                out.append(indent + STUB)
                state = "solution"
            elif _marker(line, BEGIN_PLACEHOLDER):
                state = "placeholder"
            elif _marker(line, END_SOLUTION) or _marker(line, END_PLACEHOLDER):
                raise MarkerError(f"{here}: an END marker without its BEGIN: {line.strip()!r}")
            else:
                out.append(line)
        elif state == "solution":
            if _marker(line, BEGIN_SOLUTION) or _marker(line, BEGIN_PLACEHOLDER):
                raise MarkerError(f"{here}: a BEGIN marker inside a solution region")
            if _marker(line, END_SOLUTION):
                state = "code"
        else:  # placeholder
            if _marker(line, END_PLACEHOLDER):
                state = "code"
            elif _marker(line, BEGIN_SOLUTION) or _marker(line, BEGIN_PLACEHOLDER):
                raise MarkerError(f"{here}: a BEGIN marker inside a placeholder block")
            else:
                out.append(uncomment(line, here))
    if state != "code":
        raise MarkerError(f"{where}: the {state} region is not closed")
    return "\n".join(out)


def uncomment(line: str, where: str) -> str:
    """Removes the first `//` (and one space after it) of a placeholder line."""
    if not line.strip():
        return line
    m = re.match(r"^(\s*)//( ?)(.*)$", line)
    if not m:
        raise MarkerError(f"{where}: a placeholder line must be commented out with //: {line!r}")
    return m.group(1) + m.group(3)


def strip_markdown(source: str, where: str = "cell") -> str:
    """Replaces `<!-- BEGIN SOLUTION -->` ... `<!-- END SOLUTION -->` regions by TEXT_STUB."""
    out: list[str] = []
    inside = False
    for n, line in enumerate(source.split("\n"), start=1):
        if _marker(line, BEGIN_SOLUTION):
            if inside:
                raise MarkerError(f"{where}, line {n}: nested BEGIN SOLUTION")
            inside = True
            out.append(TEXT_STUB)
        elif _marker(line, END_SOLUTION):
            if not inside:
                raise MarkerError(f"{where}, line {n}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: the solution region is not closed")
    return "\n".join(out)


def nbgrader(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_task(cell: Any) -> bool:
    return bool(nbgrader(cell).get("solution"))


def is_check(cell: Any) -> bool:
    return bool(nbgrader(cell).get("grade")) and cell.cell_type == "code"


def has_solution(source: str) -> bool:
    return BEGIN_SOLUTION in source


# --------------------------------------------------------------------------------------------
# Validation


@dataclass
class Summary:
    name: str
    tasks: int = 0
    checks: int = 0
    points: float = 0.0  # all points: the check cells' and the manually graded answers'
    grade_ids: list[str] = field(default_factory=list)
    manual: int = 0  # markdown answer cells graded by hand
    manual_points: float = 0.0

    @property
    def auto_points(self) -> float:
        return self.points - self.manual_points


def is_manual(cell: Any) -> bool:
    """A short-answer cell graded by hand: markdown, nbgrader grade and solution."""
    meta = nbgrader(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def validate(nb: Any, name: str) -> Summary:
    """Checks an instructor notebook's markers and nbgrader metadata; raises MarkerError."""
    s = Summary(name)
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        meta = nbgrader(cell)
        if meta:
            gid = meta.get("grade_id")
            if not gid:
                raise MarkerError(f"{where}: nbgrader metadata without a grade_id")
            if gid in seen:
                raise MarkerError(f"{where}: duplicate grade_id {gid!r}")
            seen.add(gid)
            s.grade_ids.append(gid)
        if cell.cell_type == "code":
            solution = has_solution(cell.source)
            if solution and not is_task(cell):
                raise MarkerError(f"{where}: a solution region in a cell not marked as a task cell "
                                  '(nbgrader metadata "solution": true)')
            if is_task(cell) and not solution:
                raise MarkerError(f"{where}: a task cell without a BEGIN SOLUTION region")
            if solution and BEGIN_PLACEHOLDER not in cell.source:
                raise MarkerError(f"{where}: a solution region without a placeholder block "
                                  "(// BEGIN PLACEHOLDER ... // END PLACEHOLDER)")
            strip_code(cell.source, where)  # raises on bad markers
            if is_task(cell):
                s.tasks += 1
            if is_check(cell):
                if is_task(cell):
                    raise MarkerError(f"{where}: a cell cannot be both a task and a check cell")
                if "points" not in meta:
                    raise MarkerError(f"{where}: a check cell without points")
                s.checks += 1
                s.points += float(meta["points"])
        elif cell.cell_type == "markdown":
            strip_markdown(cell.source, where)
            if is_manual(cell):
                if "points" not in meta:
                    raise MarkerError(f"{where}: a manually graded answer cell without points")
                if not has_solution(cell.source):
                    raise MarkerError(f"{where}: a manually graded answer cell without a model answer "
                                      "(<!-- BEGIN SOLUTION --> ... <!-- END SOLUTION -->)")
                if meta.get("task") or meta.get("locked"):
                    raise MarkerError(f"{where}: a manually graded answer cell must be unlocked and not a task")
                s.manual += 1
                s.manual_points += float(meta["points"])
                s.points += float(meta["points"])
        names = forbidden_names(cell)
        if names and not is_task(cell):
            raise MarkerError(f"{where}: forbidden names (metadata cnnkit.forbidden) on a cell that is not a task cell")
        if not all(isinstance(n, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names):
            raise MarkerError(f"{where}: cnnkit.forbidden must list identifiers: {names!r}")
    return s


# --------------------------------------------------------------------------------------------
# Generation


def student_notebook(nb: Any, name: str = "notebook", dep_path: str | None = None) -> Any:
    """The student version of an instructor notebook (a new object)."""
    out = copy.deepcopy(nb)
    for i, cell in enumerate(out.cells):
        where = f"{name}, cell {i}"
        if cell.cell_type == "code":
            cell.source = strip_code(cell.source, where)
            if dep_path is not None:
                cell.source = "\n".join(
                    DEP_LINE.sub(lambda m: m.group(1) + dep_path + m.group(3), line)
                    for line in cell.source.split("\n")
                )
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        elif cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source, where)
    return out


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.glob("*.ipynb"))
        elif p.suffix == ".ipynb" and p.exists():
            found.append(p)
        else:
            raise SystemExit(f"cnnkit-student: no such notebook or folder: {p}")
    return found


def generate(sources: list[Path], out: Path, dep_path: str | None = None) -> list[Summary]:
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    copied: set[Path] = set()
    for path in sources:
        nb = read_notebook(path)
        if nb is None:
            raise MarkerError(f"{path} is not a notebook (see above); no student notebooks were written for it")
        s = validate(nb, path.name)
        student = student_notebook(nb, path.name, dep_path)
        nbformat.validate(student)
        nbformat.write(student, out / path.name)
        summaries.append(s)
        # Files beside the notebooks that the kernel reads (evcxr.toml).
        for extra in path.parent.glob("evcxr.toml"):
            if extra not in copied:
                shutil.copy2(extra, out / extra.name)
                copied.add(extra)
    return summaries


# --------------------------------------------------------------------------------------------
# The rule against calling the reference implementation


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RAW_STRING = re.compile(r'b?r(#*)"')
NUMBER = re.compile(r"[0-9][0-9A-Za-z_]*(?:\.[0-9][0-9A-Za-z_]*)?")  # not `0.field` of `x.0.field`


def forbidden_names(cell: Any) -> list[str]:
    """The identifiers a task cell must not use (cell metadata cnnkit.forbidden)."""
    meta = cell.get("metadata", {}).get("cnnkit", {}) or {}
    return list(meta.get("forbidden", []) or [])


def code_identifiers(source: str) -> list[tuple[int, str]]:
    """(line, identifier) of every identifier in Rust code, outside comments, string and
    character literals; evcxr commands (lines starting with `:`) are left out. Raw
    identifiers (`r#conv2d`) count as the name."""
    out: list[tuple[int, str]] = []
    src = "\n".join("" if line.lstrip().startswith(":") else line for line in source.split("\n"))
    i, n, line = 0, len(src), 1
    while i < n:
        ch = src[i]
        if ch == "\n":
            line += 1
            i += 1
        elif src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += src[i] == "\n"
                    i += 1
        elif (m := RAW_STRING.match(src, i)) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            end = '"' + m.group(1)
            j = src.find(end, m.end())
            j = n if j < 0 else j + len(end)
            line += src.count("\n", i, j)
            i = j
        elif ch == '"' or (ch == "b" and src.startswith('b"', i) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_"))):
            i += 2 if ch == "b" else 1
            while i < n and src[i] != '"':
                if src[i] == "\\":
                    i += 1
                if i < n and src[i] == "\n":
                    line += 1
                i += 1
            i += 1
        elif ch == "'":
            # A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if src.startswith("\\", i + 1):
                j = src.find("'", i + 3)
                i = n if j < 0 else j + 1
            elif i + 2 < n and src[i + 2] == "'":
                i += 3
            else:
                i += 1
        elif src.startswith("r#", i) and (m := IDENT.match(src, i + 2)):
            out.append((line, m.group(0)))
            i = m.end()
        elif (m := IDENT.match(src, i)):
            out.append((line, m.group(0)))
            i = m.end()
        elif ch.isdigit():
            i = NUMBER.match(src, i).end()
        else:
            i += 1
    return out


def forbidden_uses(source: str, names: Iterable[str]) -> list[tuple[str, int]]:
    """(name, line) of each use of a forbidden identifier in code (see code_identifiers)."""
    wanted = set(names)
    return [(ident, line) for line, ident in code_identifiers(source) if ident in wanted]


def forbidden_message(name: str, where: str) -> str:
    return (
        f"`{name}`({where})는 이 확인 셀이 여러분의 답과 비교하는 기준 구현(reference implementation)입니다. "
        "이 연습은 그것을 직접 구현하는 것이므로, 기준 구현을 부르는 답은 이 확인 셀에서 0점입니다. "
        f"/ `{name}` ({where}) is the reference implementation this check compares your answer with; "
        "the exercise is to write it yourself, so an answer that uses it scores 0 in this check."
    )


def forbidden_violations(executed: Any, reference: Any) -> dict[str, str]:
    """grade_id of each check cell that a forbidden use makes worth nothing, with the
    message. The rules come from `reference` (the instructor notebook, or the notebook
    itself): each task cell's cnnkit.forbidden names apply to the check cells after it, up
    to the next task cell, and are looked for in the executed notebook's task cell of the
    same grade_id and in every code cell that is not one of the given cells unchanged."""
    rules: list[tuple[str, list[str], list[str]]] = []  # (task grade_id, names, check ids)
    for cell in reference.cells:
        if is_task(cell):
            rules.append((nbgrader(cell)["grade_id"], forbidden_names(cell), []))
        elif is_check(cell) and rules:
            rules[-1][2].append(nbgrader(cell)["grade_id"])
    rules = [r for r in rules if r[1] and r[2]]
    if not rules:
        return {}
    given = set()
    for cell in reference.cells:
        if cell.cell_type == "code" and not is_task(cell):
            given.add(cell.source.strip())
            try:
                given.add(strip_code(cell.source).strip())
            except MarkerError:
                pass
    tasks = {nbgrader(c).get("grade_id"): (i, c) for i, c in enumerate(executed.cells) if is_task(c)}
    extra = [
        (i, c) for i, c in enumerate(executed.cells)
        if c.cell_type == "code" and not nbgrader(c) and c.source.strip() not in given
    ]
    found: dict[str, str] = {}
    for task_id, names, checks in rules:
        candidates = ([tasks[task_id]] if task_id in tasks else []) + extra
        for i, cell in candidates:
            uses = forbidden_uses(cell.source, names)
            if uses:
                name, line = uses[0]
                message = forbidden_message(name, f"셀 {i}, 줄 {line} / cell {i}, line {line}")
                for gid in checks:
                    found.setdefault(gid, message)
                break
    return found


# --------------------------------------------------------------------------------------------
# Reading verdicts from executed notebooks


def output_text(cell: Any) -> str:
    """The plain text a cell showed: stdout and the text/plain of its results."""
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            parts.append(o.get("text", ""))
        elif o.get("output_type") in ("execute_result", "display_data"):
            text = o.get("data", {}).get("text/plain", "")
            parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)


def verdict(cell: Any) -> str:
    """`correct`, `not-done`, `wrong`, `timeout` (the cell ran out of time and was stopped),
    `error` (the cell failed without a verdict) or `none`."""
    if timed_out(cell):
        return "timeout"
    text = output_text(cell)
    if CORRECT in text:
        return "correct"
    if NOT_DONE in text:
        return "not-done"
    if WRONG in text:
        return "wrong"
    if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return "error"
    return "none"


POINTS_LINE = re.compile(r"점수 \(points\): ([0-9]+(?:\.[0-9]+)?)/([0-9]+(?:\.[0-9]+)?)")


def credit(cell: Any) -> tuple[float, float] | None:
    """The checker's (earned, max) points line of a check cell's output, if it has one."""
    m = POINTS_LINE.search(output_text(cell))
    return (float(m.group(1)), float(m.group(2))) if m else None


def timed_out(cell: Any) -> str | None:
    """The note a grading run left in a cell that ran out of time, or None."""
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME:
            return o.get("evalue", "") or "timeout"
    return None


@dataclass
class CheckResult:
    notebook: str
    grade_id: str
    points: float
    verdict: str
    earned: float
    modified: bool = False
    note: str = ""  # for people: why the check has no points (a timeout)


def check_results(executed: Any, name: str, source: Any | None = None) -> list[CheckResult]:
    """One result per check cell, and one per manually graded answer cell (`manual`, no
    points until graded by hand). With `source` (the instructor notebook), points and the
    list of check cells come from it, matched by grade_id, and a check cell whose code
    differs from the instructor's is flagged (and earns nothing). A wrong verdict with the
    checker's partial credit earns that share of the points (`partial`); a check after a
    task that uses a forbidden reference implementation earns nothing (`forbidden`, see
    forbidden_violations; without `source` the rules come from the instructor notebook of
    the same name in notebooks/exercises when there is one, else from the notebook)."""
    cells = {nbgrader(c).get("grade_id"): c for c in executed.cells if nbgrader(c)}
    reference = source if source is not None else executed
    rules = source
    if rules is None:
        instructor = EXERCISES / name
        rules = (read_notebook(instructor) if instructor.exists() else None) or executed
    forbidden = forbidden_violations(executed, rules)
    results = []
    for ref in reference.cells:
        if is_manual(ref):
            gid = nbgrader(ref)["grade_id"]
            results.append(CheckResult(name, gid, float(nbgrader(ref).get("points", 0)), "manual", 0.0,
                                       note="손으로 채점합니다 / graded by hand"))
            continue
        if not is_check(ref):
            continue
        gid = nbgrader(ref)["grade_id"]
        points = float(nbgrader(ref).get("points", 0))
        cell = cells.get(gid)
        if cell is None:
            results.append(CheckResult(name, gid, points, "missing", 0.0))
            continue
        v = verdict(cell)
        modified = source is not None and cell.source.strip() != ref.source.strip()
        earned = points if v == "correct" else 0.0
        note = timed_out(cell) or ""
        c = credit(cell)
        if v == "wrong" and c is not None and c[0] > 0 and c[1] > 0:
            v = "partial"
            earned = round(points * min(c[0], c[1]) / c[1], 2)
        if gid in forbidden:
            v, earned, note = "forbidden", 0.0, forbidden[gid]
        if modified:
            earned = 0.0
        results.append(CheckResult(name, gid, points, v, earned, modified, note))
    return results


def read_notebook(path: Path) -> Any | None:
    """The notebook, or None after saying why it cannot be read."""
    from .run import invalid_notebook_message

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        return nb
    except Exception as exc:  # not JSON, not a notebook, unreadable
        print(f"cnnkit-student: {path}: {invalid_notebook_message(path, exc)}", file=sys.stderr)
        return None


def grade(executed_paths: list[Path], source_dir: Path | None, csv_path: Path | None) -> int:
    """Scores executed notebooks (the verdicts in their outputs) and prints one line per check.
    A file that is not a notebook is reported, and its checks count as missing."""
    executed = [(path.name, read_notebook(path)) for path in executed_paths]
    return grade_executed(executed, source_dir, csv_path)


def grade_executed(executed: list[tuple[str, Any]], source_dir: Path | None, csv_path: Path | None) -> int:
    """Like `grade`, for (file name, executed notebook or None) pairs; None: the notebook
    could not be read, so all of its checks are missing."""
    rows: list[CheckResult] = []
    for name, nb in executed:
        source = None
        if source_dir is not None:
            src = source_dir / name
            if not src.exists():
                print(f"cnnkit-student: no instructor notebook {src} for {name}", file=sys.stderr)
                return 2
            source = read_notebook(src)
            if source is None:
                return 2
        rows += check_results(nb if nb is not None else nbformat.v4.new_notebook(), name, source)
    print_results(rows)
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["notebook", "grade_id", "verdict", "earned", "points", "modified"])
            for r in rows:
                w.writerow([r.notebook, r.grade_id, r.verdict, r.earned, r.points, r.modified])
    return 0


def print_results(rows: list[CheckResult]) -> None:
    width = max([len(r.notebook) + len(r.grade_id) + 3 for r in rows] + [10])
    for r in rows:
        flag = "  (check cell modified!)" if r.modified else ""
        print(f"{(r.notebook + ' / ' + r.grade_id):<{width}} {r.verdict:<9} {r.earned:g}/{r.points:g}{flag}")
        if r.note:
            print(f"{'':<{width}}   {r.note}")
    total = sum(r.earned for r in rows)
    possible = sum(r.points for r in rows if r.verdict != "manual")
    manual = sum(r.points for r in rows if r.verdict == "manual")
    by_hand = f" (and {manual:g} points graded by hand)" if manual else ""
    print(f"total {total:g}/{possible:g} points{by_hand}")


def run_notebooks(paths: list[Path], out: Path, quick: bool, timeout: int, html_pages: bool = False) -> list[Any]:
    """Runs each notebook with a fresh kernel as cnnkit-run does (one shared build folder),
    but on after failing cells and with `timeout` seconds per cell (see the module
    docstring), and writes the executed notebooks to out/executed/; returns the
    NotebookResults. After SIGINT or SIGTERM (`processes.STOP`) the rest are not run."""
    from .cli import default_max_output
    from .kernel_env import kernel_environment
    from .processes import STOP
    from .report import Outputs, Stopped
    from .run import DEFAULT_TIMEOUT, NotebookRun, not_run

    names = [p.name for p in paths]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SystemExit(f"cnnkit-student: two notebooks with the same name (one folder per student): {dupes}")
    try:
        outputs = Outputs(out, html_pages=html_pages, prog="cnnkit-student")
    except Stopped as exc:
        print(f"cnnkit-student: {exc}; nothing ran")
        return [not_run(p, p.stem, "not run: the run was stopped") for p in paths]
    max_output = default_max_output("cnnkit-student")
    results = []
    with kernel_environment(quick) as env:
        for path in paths:
            if STOP.requested:
                results.append(not_run(path, path.stem, f"not run: stopped by {STOP.name}"))
                continue
            print(f"\n{path}", flush=True)
            result = NotebookRun(
                path, name=path.stem, env=env, timeout=timeout, dep_timeout=DEFAULT_TIMEOUT, keep_going=True,
                max_output=max_output, log_path=outputs.log_path(path.stem)
            ).execute()
            problem = outputs.write(result)
            if problem:
                print(f"  ({problem})")
            for f in result.failures:
                print(f"  {f.headline()}: {f.message.splitlines()[0] if f.message else ''}")
            if result.nb is not None and not result.complete:
                print(f"  the notebook stopped at code cell {result.cells_run} of {result.code_cells}: "
                      "the checks after it have no verdict")
            results.append(result)
    outputs.close()
    print()
    return results


# --------------------------------------------------------------------------------------------
# nbgrader


try:  # nbgrader is optional; these classes exist only where it is installed.
    from nbgrader.preprocessors import Execute as _NbgraderExecute
    from nbgrader.preprocessors import NbGraderPreprocessor as _NbGraderBase
except Exception:  # pragma: no cover - nbgrader not installed
    _NbGraderBase = _NbgraderExecute = None

if _NbGraderBase is not None:

    class NbgraderPlaceholders(_NbGraderBase):  # type: ignore[misc, valid-type]
        """nbgrader preprocessor: uncomments the `// BEGIN PLACEHOLDER` blocks that
        ClearSolutions leaves behind. It must run right after ClearSolutions (see
        configure_nbgrader)."""

        def preprocess_cell(self, cell, resources, index):  # noqa: D102
            if cell.cell_type == "code" and BEGIN_PLACEHOLDER in cell.source:
                cell.source = strip_code(cell.source, f"cell {index}")
            return cell, resources

    class EvcxrExecute(_NbgraderExecute):  # type: ignore[misc, valid-type]
        """nbgrader's Execute for the evcxr kernel: evcxr 0.22 answers a failed cell with an
        execute_reply that has no `ename`/`evalue`/`traceback`, on which nbgrader's own
        Execute stops with a KeyError (and autograde skips the whole submission)."""

        def on_cell_executed(self, **kwargs):  # noqa: D102
            content = kwargs["execute_reply"]["content"]
            if content.get("status") == "error":
                content.setdefault("ename", "Error")
                content.setdefault("evalue", "")
                content.setdefault("traceback", [])
            return super().on_cell_executed(**kwargs)


def configure_nbgrader(c: Any, timeout: int = 3600) -> None:
    """Sets up nbgrader for these notebooks; call it from nbgrader_config.py:

        from cnnkit_notebooks.student import configure_nbgrader   # pip install -e <repository>/tools
        configure_nbgrader(get_config())

    * ClearSolutions replaces a Rust solution region by STUB (nbgrader has no Rust stub);
    * NbgraderPlaceholders, right after ClearSolutions, uncomments the placeholder blocks,
      so nbgrader's release notebooks equal this tool's student notebooks;
    * EvcxrExecute replaces nbgrader's Execute in autograde (see its docstring);
    * cells may run `timeout` seconds (exercise 5 trains for up to 20 minutes).

    Autograde must run with CNNKIT_GRADING=1 (see docs/instructors.md)."""
    if _NbGraderBase is None:
        raise RuntimeError("nbgrader is not installed in this Python")
    from nbgrader.converters import Autograde, GenerateAssignment
    from nbgrader.preprocessors import ClearSolutions

    c.ClearSolutions.code_stub = {"rust": STUB}
    generate = list(GenerateAssignment.class_traits()["preprocessors"].default())
    generate.insert(generate.index(ClearSolutions) + 1, NbgraderPlaceholders)
    c.GenerateAssignment.preprocessors = generate
    c.Autograde.autograde_preprocessors = [
        EvcxrExecute if p is _NbgraderExecute else p
        for p in Autograde.class_traits()["autograde_preprocessors"].default()
    ]
    c.ExecutePreprocessor.timeout = timeout
    c.Execute.timeout = timeout


# --------------------------------------------------------------------------------------------


SUBCOMMANDS = ("build", "validate", "check", "grade")


def legacy_argv(argv: list[str]) -> list[str]:
    """The old command line (make_student.py's flags) in subcommand form."""
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
        return argv
    if "--grade" in argv:
        return ["grade", "--executed", *[a for a in argv if a != "--grade"]]
    if "--check" in argv:
        return ["validate", *[a for a in argv if a != "--check"]]
    return ["build", *argv]


def parser() -> argparse.ArgumentParser:
    from .run import DEFAULT_TIMEOUT

    ap = argparse.ArgumentParser(
        prog="cnnkit-student",
        description="Student notebooks from the instructor's exercise notebooks; check and grade them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", metavar="{build,validate,check,grade}")
    src_help = f"notebooks or folders (default: {DEFAULT_SRC.relative_to(ROOT)})"

    p = sub.add_parser("build", help="write student notebooks: no solutions, no outputs (make student)")
    p.add_argument("paths", nargs="*", help=src_help)
    p.add_argument("-o", "--out", default=str(DEFAULT_OUT), help="output folder (default: build/student)")
    p.add_argument("--dep-path", help="rewrite the path in `:dep cnnkit = { path = ... }` (e.g. an absolute path)")

    p = sub.add_parser("validate", help="only check the instructor notebooks' markers and nbgrader metadata")
    p.add_argument("paths", nargs="*", help=src_help)
    p.add_argument("-o", "--out", help=argparse.SUPPRESS)  # accepted (and ignored) as with the old --check

    def run_options(p: argparse.ArgumentParser, out: str) -> None:
        p.add_argument("--out", default=str(BUILD / out), help=f"output folder for the executed notebooks (default: build/{out})")
        p.add_argument(
            "--quick",
            action="store_true",
            default=os.environ.get("QUICK", "") not in ("", "0"),
            help="quick mode: CNNKIT_QUICK=1 in the kernels (default when QUICK=1 is set)",
        )
        p.add_argument(
            "--timeout",
            type=int,
            default=int(os.environ.get("NBRUN_GRADE_TIMEOUT", DEFAULT_GRADE_TIMEOUT)),
            help=f"seconds a cell may run (default {DEFAULT_GRADE_TIMEOUT}, or NBRUN_GRADE_TIMEOUT); a cell out of time "
            "is stopped, its check scores `timeout`, and the notebook goes on. Cells tagged timeout=N keep N, and "
            f"`:dep` cells (they compile crates) get at least {DEFAULT_TIMEOUT} s",
        )

    p = sub.add_parser("check", help="run student notebooks and show each check cell's verdict")
    p.add_argument("paths", nargs="+", help="student notebooks or folders")
    run_options(p, "check")
    p.add_argument("--html", action="store_true", help="also write HTML pages of the executed notebooks")

    p = sub.add_parser("grade", help="run submitted notebooks and score them against the instructor notebooks")
    p.add_argument("paths", nargs="+", help="submitted notebooks or a folder of them (one student)")
    p.add_argument("--source", default=str(DEFAULT_SRC), help="the instructor notebooks (points, check cells)")
    p.add_argument("--csv", help="also write the results to this CSV file")
    p.add_argument("--executed", action="store_true", help="the notebooks ran already: score their outputs as they are")
    run_options(p, "graded")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(legacy_argv(sys.argv[1:] if argv is None else list(argv)))
    if args.command in ("grade", "check") and not getattr(args, "executed", False):
        from .processes import stop_on_signals

        try:
            with stop_on_signals("cnnkit-student") as stop:
                rc = _main(args)
                if stop.requested:
                    print(f"cnnkit-student: stopped by {stop.name}: the kernels and their processes were ended; "
                          "the results above are incomplete" + (" and no CSV file was written" if getattr(args, "csv", None) else ""))
                    return stop.exit_status()
                return rc
        except KeyboardInterrupt:  # a second signal: stop at once
            sys.stdout.flush()
            os._exit(130)
    return _main(args)


def _main(args: argparse.Namespace) -> int:
    from .processes import STOP

    try:
        if args.command == "grade":
            paths = find_notebooks(args.paths)
            csv_path = Path(args.csv) if args.csv else None
            if args.executed:
                return grade(paths, Path(args.source), csv_path)
            results = run_notebooks(paths, Path(args.out), args.quick, args.timeout)
            if STOP.requested:
                csv_path = None  # incomplete scores must not look like a grades file
            return grade_executed([(Path(r.path).name, r.nb) for r in results], Path(args.source), csv_path)
        if args.command == "check":
            return check(find_notebooks(args.paths), Path(args.out), args.quick, args.timeout, args.html)
        sources = find_notebooks(args.paths or [DEFAULT_SRC])
        if not sources:
            print("cnnkit-student: no notebooks found", file=sys.stderr)
            return 1
        if args.command == "validate":
            for path in sources:
                nb = read_notebook(path)
                if nb is None:
                    return 1
                s = validate(nb, path.name)
                manual = f", {s.manual} answers graded by hand" if s.manual else ""
                print(f"ok  {path.name}: {s.tasks} task cells, {s.checks} check cells{manual}, {s.points:g} points")
            return 0
        out = Path(args.out)
        summaries = generate(sources, out, args.dep_path)
    except MarkerError as e:
        print(f"cnnkit-student: {e}", file=sys.stderr)
        return 1
    for s in summaries:
        manual = f", {s.manual} answers graded by hand ({s.manual_points:g} points)" if s.manual else ""
        print(f"wrote {out / s.name}: {s.tasks} task cells, {s.checks} check cells{manual}, {s.points:g} points")
    manual = sum(s.manual_points for s in summaries)
    by_hand = f" ({manual:g} of them graded by hand)" if manual else ""
    print(f"{len(summaries)} student notebooks in {out}, {sum(s.points for s in summaries):g} points in all{by_hand}")
    return 0


def check(paths: list[Path], out: Path, quick: bool, timeout: int, html_pages: bool = False) -> int:
    """Runs a student's notebooks and prints each check cell's verdict (points from the
    notebook itself). Exit status 0 only when every notebook ran and every check is correct."""
    results = run_notebooks(paths, out, quick, timeout, html_pages)
    rows: list[CheckResult] = []
    for r in results:
        rows += check_results(r.nb if r.nb is not None else nbformat.v4.new_notebook(), Path(r.path).name)
    if rows:
        print_results(rows)
    else:
        print("no check cells (nbgrader metadata \"grade\": true) in these notebooks")
    failed = [r for r in results if not r.passed]
    for r in failed:
        for f in r.failures:
            print(f"{Path(r.path).name}: {f.headline()}")
    print(f"executed notebooks in {out / 'executed'}")
    return 0 if not failed and all(r.verdict in ("correct", "manual") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
