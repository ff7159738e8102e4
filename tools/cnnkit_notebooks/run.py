"""Runs one notebook with the real evcxr kernel and judges it by the rules in `rules`.

For each notebook it starts a fresh kernel `rust` (evcxr_jupyter) in the notebook's folder
and runs the code cells in order with nbclient. The first failing cell stops its notebook.

evcxr sends a cell's stderr lines asynchronously, so a line can arrive just after the cell
is reported done: the runner keeps listening for --grace seconds after each cell and also
files late output that arrives during the next cell under the cell it belongs to.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync

from .console import first_line, pad, say
from .kernel_env import KERNEL
from .rules import TAG_RAISES, cell_timeout, judge_cell

DEFAULT_TIMEOUT = 3600  # seconds per cell; a full training cell of the lecture takes minutes
DEFAULT_GRACE = 0.1  # seconds to wait for late stderr after each cell
DEFAULT_STARTUP_TIMEOUT = 180  # seconds to wait for a kernel to start


@dataclass
class Failure:
    cell_index: int  # index in the notebook's cell list (markdown cells count)
    code_cell: int  # 1-based number among code cells
    first_line: str
    reason: str  # compile error | panic | stderr output | timeout | crash | kernel died | ...
    message: str

    def headline(self) -> str:
        if self.cell_index < 0:  # nothing ran: the kernel did not start
            return self.reason
        return f"cell {self.cell_index} (code cell {self.code_cell}): `{self.first_line}`: {self.reason}"


@dataclass
class NotebookResult:
    path: str
    name: str
    status: str = "failed"  # passed | failed
    seconds: float = 0.0
    code_cells: int = 0
    cells_run: int = 0
    failure: Failure | None = None
    html: str | None = None
    executed: str | None = None
    log: str | None = None
    cell_seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Client(NotebookClient):
    """NotebookClient that keeps late iopub output with the cell that produced it.

    nbclient stops reading a cell's output when the kernel reports idle and drops what
    arrives later for that cell. evcxr forwards stderr lines on a separate thread, so a
    `?` error message can arrive after idle. We remember which request belongs to which
    cell and add late output to that cell (see `late_cells`).
    """

    def __init__(self, *args: Any, echo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_cells: dict[str, tuple[Any, int]] = {}
        self.late_cells: set[int] = set()
        self.echo = echo
        self.echoed = False  # whether the current cell printed anything (with --echo)

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if self.echo and msg.get("msg_type") == "stream":
            if not self.echoed:
                say()
                self.echoed = True
            for line in msg["content"].get("text", "").splitlines():
                say(f"         {'!' if msg['content'].get('name') == 'stderr' else '|'} {line}")
        return super().process_message(msg, cell, cell_index)

    def _file_late(self, msg: dict[str, Any]) -> None:
        parent = msg.get("parent_header", {}).get("msg_id")
        if parent not in self.request_cells:
            return
        if msg["msg_type"] not in ("stream", "error", "display_data", "execute_result"):
            return
        cell, index = self.request_cells[parent]
        with contextlib.suppress(CellExecutionComplete):
            self.process_message(msg, cell, index)
        self.late_cells.add(index)

    async def _async_poll_output_msg(self, parent_msg_id: str, cell: Any, cell_index: int) -> None:
        # Same as nbclient 0.11's, plus filing output of earlier cells instead of dropping it.
        assert self.kc is not None
        self.request_cells[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            else:
                self._file_late(msg)

    async def async_drain(self, grace: float) -> None:
        """Reads iopub until it has been quiet for `grace` seconds."""
        assert self.kc is not None
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=grace))
            except Empty:
                return
            self._file_late(msg)

    drain = run_sync(async_drain)


def run_notebook(
    path: Path,
    name: str,
    log_path: Path,
    env: dict[str, str],
    timeout: int = DEFAULT_TIMEOUT,
    grace: float = DEFAULT_GRACE,
    startup_timeout: int = DEFAULT_STARTUP_TIMEOUT,
    echo: bool = False,
) -> tuple[NotebookResult, Any]:
    result = NotebookResult(path=str(path), name=name)
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    result.code_cells = len(code)
    result.log = str(log_path)

    client = Client(
        nb,
        echo=echo,
        kernel_name=KERNEL,
        timeout=timeout,
        timeout_func=lambda cell: cell_timeout(cell, timeout),
        startup_timeout=startup_timeout,
        allow_errors=True,  # this runner judges errors itself
        interrupt_on_timeout=False,
        record_timing=True,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    started = time.monotonic()
    failure: Failure | None = None
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            with client.setup_kernel(env=env, stdout=log, stderr=subprocess.STDOUT):
                for n, index in enumerate(code, start=1):
                    cell = nb.cells[index]
                    tags = cell.metadata.get("tags", [])
                    line = first_line(cell.source)
                    say(f"  [{n:>2}/{len(code)}] {pad(line, 70)} ", end="")
                    t0 = time.monotonic()
                    client.echoed = False
                    if "skip-execution" in tags:
                        say("skipped (tag skip-execution)")
                        result.cell_seconds.append(0.0)
                        continue
                    try:
                        client.execute_cell(cell, index)
                        client.drain(grace)
                    except CellTimeoutError:
                        secs = cell_timeout(cell, timeout)
                        failure = Failure(index, n, line, "timeout", f"the cell ran longer than its timeout of {secs} s")
                        client.shutdown_kernel = "immediate"
                    except DeadKernelError as exc:
                        failure = Failure(index, n, line, "kernel died", f"the kernel process died: {exc}")
                        client.shutdown_kernel = "immediate"
                    dt = time.monotonic() - t0
                    if client.echoed:  # the cell's output went to the terminal: new line for the verdict
                        say(f"         -> ", end="")
                    result.cell_seconds.append(round(dt, 2))
                    result.cells_run = n
                    # Output of an earlier cell that arrived late can still fail that cell.
                    for late in sorted(client.late_cells):
                        if late == index or failure:
                            continue
                        verdict = judge_cell(nb.cells[late])
                        if verdict and TAG_RAISES not in nb.cells[late].metadata.get("tags", []):
                            k = code.index(late) + 1
                            failure = Failure(late, k, first_line(nb.cells[late].source), *verdict)
                    client.late_cells.clear()
                    if failure is None:
                        verdict = judge_cell(cell)
                        if TAG_RAISES in tags:
                            if verdict is None:
                                failure = Failure(
                                    index,
                                    n,
                                    line,
                                    "raises-exception cell did not fail",
                                    f"the cell is tagged `{TAG_RAISES}` but ran without an error",
                                )
                            else:
                                say(f"ok, failed as expected ({verdict[0]}) {dt:6.1f} s")
                                continue
                        elif verdict is not None:
                            failure = Failure(index, n, line, *verdict)
                    if failure is not None:
                        say(f"FAILED ({failure.reason}) {dt:.1f} s")
                        break
                    say(f"ok {dt:6.1f} s")
        except Exception as exc:  # the kernel did not start, or nbclient broke
            if failure is None:
                failure = Failure(-1, 0, "", "kernel error", f"{type(exc).__name__}: {exc}")
                say(f"\n  ERROR: {type(exc).__name__}: {exc}")
    result.seconds = round(time.monotonic() - started, 1)
    result.failure = failure
    result.status = "failed" if failure else "passed"
    return result, nb
