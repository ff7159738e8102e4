"""One notebook, one run: `NotebookRun(path, ...).execute()` returns a `NotebookResult`.

    from cnnkit_notebooks.run import NotebookRun
    result = NotebookRun("notebooks/02_convolution_layer.ipynb", timeout=600).execute()
    if not result.passed:
        print(result.failure.reason, result.failure.message)

This is the run API that cnnkit-run, the pytest plugin, cnnkit-student and the tests share
(in the manner of nbmake's `NotebookRun.execute() -> NotebookResult`). It starts a fresh
kernel `rust` (evcxr_jupyter) in the notebook's folder and lets nbclient run the cells in
order; the rules of `cnnkit_notebooks.rules` judge each cell, and the first failing cell
stops the notebook.

Only nbclient's public interface is used: its cell loop (`NotebookClient.execute`), its
hooks and its configurable kernel manager class.

* `on_cell_execute`: the progress line, the cell's start time; the kernel is to be killed
  (not asked to shut down) if the cell never finishes (timeout, dead kernel);
* `on_cell_executed`: remember which request belongs to the cell, read late output for
  `grace` seconds, judge the cell (and any earlier cell whose output came late);
* `on_cell_start`: after a failure, raise `_Stop`, which ends nbclient's cell loop before
  the next cell (nbclient then shuts the kernel down as usual);
* `on_notebook_start`: connect the late-output observer to the kernel client.

Late output: evcxr forwards a cell's stderr on a separate thread, unsynchronised with the
end of the cell, so a line (a top-level `?` on an `Err`) can arrive just after the kernel
reported the cell done. nbclient reads a cell's output only until then and silently skips
messages of earlier requests. The kernel manager class given to nbclient
(`EvcxrKernelManager`) makes clients whose iopub channel shows every message it hands out
to an observer; the observer files output of an already finished cell under that cell
(with nbclient's public `process_message`), where it can still fail it.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from queue import Empty
from typing import Any, Callable

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from traitlets import DottedObjectName, Type, default

from .console import first_line, pad, say
from .kernel_env import KERNEL, kernel_env
from .rules import TAG_SKIP, Reason, cell_timeout, check_cell, late_failure, tags

DEFAULT_TIMEOUT = 3600  # seconds per cell; a full training cell of the lecture takes minutes
DEFAULT_GRACE = 0.1  # seconds to wait for late stderr after each cell
DEFAULT_STARTUP_TIMEOUT = 180  # seconds to wait for a kernel to start
LATE_OUTPUT = ("stream", "error", "display_data", "execute_result")


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Failure:
    """The first failure in a notebook."""

    cell_index: int  # index in the notebook's cell list (markdown cells count); -1: no cell
    code_cell: int  # 1-based number among code cells; 0: no cell
    first_line: str
    reason: Reason
    message: str

    def headline(self) -> str:
        if self.cell_index < 0:  # no cell ran: the kernel did not start, the file is invalid
            return str(self.reason)
        return f"cell {self.cell_index} (code cell {self.code_cell}): `{self.first_line}`: {self.reason}"


@dataclass
class NotebookResult:
    """What one run of one notebook gave. `nb` is the executed notebook (None when the file
    could not be read); the file fields are set by `report.Outputs.write`."""

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
    nb: Any = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        """The notebook's entry in report.json (the reason as its text)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("nb", "failure")}
        out["failure"] = None
        if self.failure is not None:
            out["failure"] = {**asdict(self.failure), "reason": self.failure.reason.value}
        out["cell_seconds"] = list(self.cell_seconds)
        # Keep report.json's historical field order.
        order = ["path", "name", "status", "seconds", "code_cells", "cells_run", "failure", "html", "executed",
                 "log", "cell_seconds"]
        return {k: out[k] for k in order}


# --------------------------------------------------------------------------------------------
# A kernel client whose iopub channel shows every message to an observer


class ObservedChannel(AsyncZMQSocketChannel):
    """jupyter_client's async channel; each message it returns is shown to `observer` first."""

    observer: Callable[[dict[str, Any]], None] | None = None

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        msg = await super().get_msg(timeout)
        if self.observer is not None:
            self.observer(msg)
        return msg


class ObservedKernelClient(AsyncKernelClient):
    iopub_channel_class = Type(ObservedChannel)  # type: ignore[assignment]


class EvcxrKernelManager(AsyncKernelManager):
    """nbclient's default kernel manager, making `ObservedKernelClient`s."""

    client_class = DottedObjectName("cnnkit_notebooks.run.ObservedKernelClient")

    @default("client_factory")
    def _observed_client_factory(self) -> type:
        return ObservedKernelClient


# --------------------------------------------------------------------------------------------
# The run


class _Stop(Exception):
    """Raised from `on_cell_start` after a failure, to end nbclient's cell loop."""


@dataclass
class _Cell:
    """The code cell that runs now."""

    index: int
    number: int
    line: str
    started: float
    seconds: float = 0.0


class NotebookRun:
    """Runs one notebook with a fresh evcxr kernel and judges it.

    env: the kernel's environment (`kernel_env.kernel_env`, `kernel_env.kernel_environment`);
        default: the caller's environment with `:cache`, a kernel-owned build folder, full mode.
    timeout: seconds per cell (a tag `timeout=N` on a cell overrides it).
    grace: seconds to keep reading late output after each cell.
    log_path: where the kernel process's own output goes (cargo's build lines); default: nowhere.
    echo: print the cells' stdout/stderr while they run.
    progress: prints the progress lines (default: to stdout); None prints nothing.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        grace: float = DEFAULT_GRACE,
        startup_timeout: int = DEFAULT_STARTUP_TIMEOUT,
        log_path: str | Path | None = None,
        echo: bool = False,
        kernel_name: str = KERNEL,
        progress: Callable[..., None] | None = say,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.env = env
        self.timeout = timeout
        self.grace = grace
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path is not None else None
        self.echo = echo
        self.kernel_name = kernel_name
        self.progress = progress

    # -- public ---------------------------------------------------------------------------

    def execute(self) -> NotebookResult:
        result = NotebookResult(path=str(self.path), name=self.name)
        started = time.monotonic()
        try:
            nb = nbformat.read(self.path, as_version=4)
            nbformat.validate(nb)
        except Exception as exc:  # not JSON, not a notebook, unreadable
            result.failure = Failure(-1, 0, "", Reason.INVALID_NOTEBOOK, f"{type(exc).__name__}: {exc}")
            self._say(f"  {result.failure.reason}: {result.failure.message.splitlines()[0]}")
            result.seconds = round(time.monotonic() - started, 1)
            return result
        result.nb = nb
        self._result = result
        self._code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        result.code_cells = len(self._code)
        self._requests: dict[str, tuple[Any, int]] = {}  # execute request id -> (cell, index)
        self._late: set[int] = set()  # cells that received output after they were done
        self._current: _Cell | None = None
        self._echoed = False
        self._failure: Failure | None = None

        self.client = client = NotebookClient(
            nb,
            kernel_name=self.kernel_name,
            kernel_manager_class=EvcxrKernelManager,
            timeout=self.timeout,
            timeout_func=lambda cell: cell_timeout(cell, self.timeout),
            startup_timeout=self.startup_timeout,
            allow_errors=True,  # the rules judge errors; nbclient must run on
            interrupt_on_timeout=False,
            record_timing=True,
            coalesce_streams=True,
            skip_cells_with_tag=TAG_SKIP,
            resources={"metadata": {"path": str(self.path.parent.resolve())}},
            on_notebook_start=self._on_notebook_start,
            on_cell_start=self._on_cell_start,
            on_cell_execute=self._on_cell_execute,
            on_cell_executed=self._on_cell_executed,
        )
        env = self.env if self.env is not None else kernel_env(False, None, True)
        with self._log() as log:
            try:
                client.execute(env=env, stdout=log, stderr=subprocess.STDOUT)
            except _Stop:
                pass
            except CellTimeoutError:
                cur = self._end_current()
                secs = cell_timeout(nb.cells[cur.index], self.timeout)
                self._fail(cur, Reason.TIMEOUT, f"the cell ran longer than its timeout of {secs} s")
            except DeadKernelError as exc:
                cur = self._end_current()
                self._fail(cur, Reason.DEAD_KERNEL, f"the kernel process died: {exc}")
            except Exception as exc:  # the kernel did not start, or the run broke down
                if self._failure is None:
                    self._failure = Failure(-1, 0, "", Reason.KERNEL_ERROR, f"{type(exc).__name__}: {exc}")
                    self._say(f"\n  ERROR: {type(exc).__name__}: {exc}")
        result.seconds = round(time.monotonic() - started, 1)
        result.failure = self._failure
        result.status = "failed" if self._failure else "passed"
        if self.log_path is not None:
            result.log = str(self.log_path)
        return result

    # -- nbclient hooks -------------------------------------------------------------------

    def _on_notebook_start(self, notebook: Any) -> None:
        channel = self.client.kc.iopub_channel
        assert isinstance(channel, ObservedChannel), "the kernel client must come from EvcxrKernelManager"
        channel.observer = self._observe

    def _on_cell_start(self, cell: Any, cell_index: int) -> None:
        if self._failure is not None:
            raise _Stop()
        if cell_index in self._code and TAG_SKIP in tags(cell):
            self._say(f"  [{self._number(cell_index):>2}/{len(self._code)}] {pad(first_line(cell.source), 70)} ", end="")
            self._say(f"skipped (tag {TAG_SKIP})")
            self._result.cell_seconds.append(0.0)

    def _on_cell_execute(self, cell: Any, cell_index: int) -> None:
        n = self._number(cell_index)
        line = first_line(cell.source)
        self._say(f"  [{n:>2}/{len(self._code)}] {pad(line, 70)} ", end="")
        self._current = _Cell(cell_index, n, line, time.monotonic())
        self._result.cells_run = n
        self._echoed = False
        # If this cell never finishes (timeout, dead kernel), kill the kernel at the end
        # instead of asking it to shut down; `_on_cell_executed` takes this back.
        self.client.shutdown_kernel = "immediate"

    async def _on_cell_executed(self, cell: Any, cell_index: int, execute_reply: dict[str, Any] | None) -> None:
        self.client.shutdown_kernel = "graceful"
        request = ((execute_reply or {}).get("parent_header") or {}).get("msg_id")
        if request:
            self._requests[request] = (cell, cell_index)
        await self._drain()
        cur = self._end_current()
        # Output of an earlier cell that arrived late can still fail that cell.
        for late in sorted(self._late - {cell_index}):
            found = late_failure(self.client.nb.cells[late])
            if found and self._failure is None:
                earlier = self.client.nb.cells[late]
                self._failure = Failure(late, self._number(late), first_line(earlier.source), *found)
        self._late.clear()
        if self._failure is not None:
            where = f"code cell {self._failure.code_cell}, whose output came late"
            self._say(f"FAILED ({self._failure.reason} in {where}) {cur.seconds:.1f} s")
            return
        found, note = check_cell(cell)
        if found is not None:
            self._failure = Failure(cell_index, cur.number, cur.line, *found)
            self._say(f"FAILED ({self._failure.reason}) {cur.seconds:.1f} s")
        else:
            self._say(f"{note} {cur.seconds:6.1f} s")

    # -- late output ----------------------------------------------------------------------

    def _observe(self, msg: dict[str, Any]) -> None:
        """Sees every iopub message: echoes streams, files late output of finished cells."""
        if self.echo and msg.get("msg_type") == "stream":
            if not self._echoed:
                self._say()
                self._echoed = True
            content = msg.get("content", {})
            for line in content.get("text", "").splitlines():
                self._say(f"         {'!' if content.get('name') == 'stderr' else '|'} {line}")
        parent = (msg.get("parent_header") or {}).get("msg_id")
        if parent not in self._requests or msg.get("msg_type") not in LATE_OUTPUT:
            return
        cell, index = self._requests[parent]
        with contextlib.suppress(CellExecutionComplete):
            self.client.process_message(msg, cell, index)
        self._late.add(index)

    async def _drain(self) -> None:
        """Reads iopub until it has been quiet for `grace` seconds (`_observe` files it)."""
        kc = self.client.kc
        while True:
            try:
                await kc.iopub_channel.get_msg(timeout=self.grace)
            except Empty:
                return

    # -- helpers --------------------------------------------------------------------------

    def _number(self, cell_index: int) -> int:
        return self._code.index(cell_index) + 1

    def _end_current(self) -> _Cell:
        """The cell that ran, with its time; (-1, 0) when no cell was running."""
        cur = self._current
        if cur is None:
            return _Cell(-1, 0, "", time.monotonic())
        cur.seconds = time.monotonic() - cur.started
        if self._echoed:  # the cell's output went to the terminal: new line for the verdict
            self._say("         -> ", end="")
        self._result.cell_seconds.append(round(cur.seconds, 2))
        self._current = None
        return cur

    def _fail(self, cur: _Cell, reason: Reason, message: str) -> None:
        if self._failure is None:
            self._failure = Failure(cur.index, cur.number, cur.line, reason, message)
        self._say(f"FAILED ({reason}) {cur.seconds:.1f} s")

    def _say(self, text: str = "", end: str = "\n") -> None:
        if self.progress is not None:
            self.progress(text, end=end)

    @contextlib.contextmanager
    def _log(self):
        if self.log_path is None:
            yield subprocess.DEVNULL
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w", encoding="utf-8") as log:
            yield log
