"""One notebook, one run: `NotebookRun(path, ...).execute()` returns a `NotebookResult`.

    from cnnkit_notebooks.run import NotebookRun
    result = NotebookRun("notebooks/02_convolution_layer.ipynb", timeout=600).execute()
    if not result.passed:
        print(result.failure.reason, result.failure.message)

This is the run API that cnnkit-run, the pytest plugin, cnnkit-student and the tests share
(in the manner of nbmake's `NotebookRun.execute() -> NotebookResult`). It starts a fresh
kernel `rust` (evcxr_jupyter) in the notebook's folder and lets nbclient run the cells in
order; the rules of `cnnkit_notebooks.rules` judge each cell, and the first failing cell
stops the notebook (with `keep_going`, as grading runs, the notebook runs on and every
failing cell is recorded).

nbclient's interface is used as it is meant to be extended: its cell loop
(`NotebookClient.execute`), its hooks, its `output` method and its configurable kernel
manager class.

* `on_cell_execute`: the progress line, the cell's start time; the kernel is to be killed
  (not asked to shut down) if the cell never finishes (timeout, dead kernel);
* `on_cell_executed`: read late output for `grace` seconds, judge the cell (and any earlier
  cell whose output came late);
* `on_cell_start`: after a failure (or a stop request), raise `_Stop`, which ends
  nbclient's cell loop before the next cell (nbclient then shuts the kernel down as usual);
* `on_notebook_start`: connect the observer and the stream reader to the kernel client.

Late output: evcxr forwards a cell's stderr on a separate thread, unsynchronised with the
end of the cell, so a line (a top-level `?` on an `Err`) can arrive just after the kernel
reported the cell done. nbclient reads a cell's output only until then and silently skips
messages of earlier requests. The kernel manager class given to nbclient
(`EvcxrKernelManager`) makes clients whose iopub channel shows every message it hands out
to an observer; the observer files output of an already finished cell under that cell
(with nbclient's public `process_message`), where it can still fail it.

Output: evcxr sends every line a cell prints as a message of its own. nbclient validates
each against the notebook schema and joins them at the end of the cell by repeated string
concatenation, which made a cell printing 50 MB run for many minutes and hold 570 MB.
The iopub channel therefore hands stream messages of the notebook's own requests to
`_stream` undecoded but for their JSON (their signature is checked), which keeps one text
per stream and cell, and at most `max_output` bytes of it: the first part, a note of how
much was dropped, and the last part (where a panic message or the final result is).

Processes: the kernel and its evaluation process are ended at the end of every notebook,
also when the kernel died (`processes.KERNELS`); nbclient runs in a worker thread so that
SIGINT and SIGTERM reach the main thread's handler (`processes.stop_on_signals`), which
ends them at once.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hmac
import json
import queue
import subprocess
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from queue import Empty
from typing import Any, Callable

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import DottedObjectName, Type, Unicode, default
from traitlets.config import Config

from .console import first_line, human_size, pad, say
from .kernel_env import KERNEL, kernel_env
from .processes import KERNELS, STOP, kill_tree, signal_name
from .rules import TAG_SKIP, TIMEOUT_ENAME, Reason, cell_timeout, check_cell, late_failure, strip_ansi, tags

DEFAULT_TIMEOUT = 3600  # seconds per cell; a full training cell of the lecture takes minutes
DEFAULT_GRACE = 0.1  # seconds to wait for late stderr after each cell
DEFAULT_STARTUP_TIMEOUT = 180  # seconds to wait for a kernel to start
DEFAULT_MAX_OUTPUT = 1_000_000  # bytes of output text a cell keeps (stdout, stderr, text/plain)
TAIL = 64_000  # of which at most this much is the end of the output
OUTPUT_STOP = 5  # a cell that prints this many times max_output is stopped (evcxr: ~80 us a line)
STOP_WAIT = 15.0  # seconds a stopped run waits for nbclient to notice its kernel is gone
INTERRUPT_WAIT = 10.0  # seconds a timed-out cell may take to stop after an interrupt
LATE_OUTPUT = ("stream", "error", "display_data", "execute_result")


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Failure:
    """A failing cell (or a notebook that failed without one)."""

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
    could not be read); the file fields are set by `report.Outputs.write`. `failure` is the
    first failure; `failures` holds every failing cell (more than one only with `keep_going`)."""

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
    failures: list[Failure] = field(default_factory=list)
    output_dropped: int = 0  # bytes of output dropped by the cap, all cells together
    complete: bool = False  # nbclient's loop reached the end of the notebook (with keep_going: despite failures)
    nb: Any = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        """The notebook's entry in report.json (reasons as their text)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("nb", "failure", "failures")}

        def one(f: Failure) -> dict[str, Any]:
            return {**asdict(f), "reason": f.reason.value}

        out["failure"] = one(self.failure) if self.failure is not None else None
        out["failures"] = [one(f) for f in self.failures]
        out["cell_seconds"] = list(self.cell_seconds)
        # Keep report.json's historical field order; newer fields follow.
        order = ["path", "name", "status", "seconds", "code_cells", "cells_run", "failure", "html", "executed",
                 "log", "cell_seconds", "failures", "output_dropped"]
        return {k: out[k] for k in order}


def not_run(path: str | Path, name: str, why: str) -> NotebookResult:
    """The result of a notebook that a stopped run did not start."""
    result = NotebookResult(path=str(path), name=name)
    result.failure = Failure(-1, 0, "", Reason.INTERRUPTED, why)
    result.failures = [result.failure]
    return result


# --------------------------------------------------------------------------------------------
# A kernel client whose iopub channel shows every message to an observer


class ObservedChannel(AsyncZMQSocketChannel):
    """jupyter_client's async channel. Each message it receives is first offered, as its
    frames, to `reader` (which returns True when it took the message); every other message
    is decoded as usual and shown to `observer` before it is returned."""

    observer: Callable[[dict[str, Any]], None] | None = None
    reader: Callable[[list[bytes], Any], bool] | None = None

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        taken = 0
        while True:
            try:
                frames = await self.socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not await self.socket.poll(None if left is None else int(left * 1000)):
                    raise Empty from None
                continue
            _, smsg = self.session.feed_identities(frames)
            reader = self.reader
            if reader is not None and reader(smsg, self.session):
                taken += 1
                if taken % 256 == 0:
                    await asyncio.sleep(0)  # let the other tasks (the cell's reply, timeouts) run
                continue
            msg = self.session.deserialize(smsg)
            if self.observer is not None:
                self.observer(msg)
            return msg


class ObservedKernelClient(AsyncKernelClient):
    """Its iopub channel is an ObservedChannel; `on_execute` learns each request's id."""

    iopub_channel_class = Type(ObservedChannel)  # type: ignore[assignment]
    on_execute: Callable[[str], None] | None = None

    def execute(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        msg_id = super().execute(*args, **kwargs)
        if self.on_execute is not None:
            self.on_execute(msg_id)
        return msg_id


class EvcxrKernelManager(AsyncKernelManager):
    """nbclient's default kernel manager, making `ObservedKernelClient`s; it enters every
    kernel it starts into `processes.KERNELS` under its `owner` (a NotebookRun)."""

    client_class = DottedObjectName("cnnkit_notebooks.run.ObservedKernelClient")
    owner = Unicode("").tag(config=True)

    @default("client_factory")
    def _observed_client_factory(self) -> type:
        return ObservedKernelClient

    async def interrupt_kernel(self) -> None:  # type: ignore[override]
        """evcxr's own interrupt ends the evaluation process, but evcxr reads the request
        only when it is not busy forwarding output, so a cell that floods its output would
        not stop (and the late interrupt would end the next cell's process). For evcxr this
        ends the evaluation process itself (evcxr starts a new one for the next cell); other
        kernels get jupyter_client's interrupt."""
        argv = getattr(self.kernel_spec, "argv", None) or [""]
        pid = getattr(self.provisioner, "pid", None)
        if "evcxr" in Path(argv[0]).name and pid:
            ended = kill_tree(pid, include_root=False)
            if ended:
                return
        await super().interrupt_kernel()

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # jupyter_client's documented place to change how kernels start.
        await super()._async_launch_kernel(kernel_cmd, **kw)
        provisioner = self.provisioner
        process = getattr(provisioner, "process", None)
        if process is not None:
            KERNELS.add(process, getattr(provisioner, "pgid", None), self.owner)


class _Client(NotebookClient):
    """nbclient's client; its `output` sends stream text to the run (`_stream`) and caps
    the text of results."""

    run: Any = None

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int):
        if self.run is not None:
            msg = self.run._filter_output(msg, cell_index)
            if msg is None:
                return None
        return super().output(outs, msg, display_id, cell_index)


# --------------------------------------------------------------------------------------------
# A cell's output text, capped


class _Text:
    """The stream text of one cell: one output per stream name. Up to `limit` bytes of text
    in all (0: no limit) are kept whole; of what comes after, only the last TAIL bytes (at
    most a quarter of `limit`) of each stream are kept, after a note of how much was dropped."""

    def __init__(self, cell: Any, limit: int) -> None:
        self.cell = cell
        self.limit = limit
        self.tail_limit = min(TAIL, limit // 4) if limit else 0
        self.kept = 0
        self.full = False  # the limit is reached: the rest goes to the tails
        self.nodes: dict[str, Any] = {}
        self.heads: dict[str, list[str]] = {}
        self.tails: dict[str, deque[str]] = {}
        self.tail_bytes: dict[str, int] = {}
        self.over: dict[str, int] = {}  # bytes beyond the head (tail included)
        self.over_lines: dict[str, int] = {}
        self.seen = 0  # bytes received
        self.plain_dropped = 0  # bytes dropped from the text/plain of results
        self.stopped = False  # the cell was stopped for printing OUTPUT_STOP times the limit
        self.dirty = False

    def _node(self, name: str) -> Any:
        node = self.nodes.get(name)
        if node is None or not any(o is node for o in self.cell.outputs):
            node = NotebookNode(output_type="stream", name=name, text="")
            self.cell.outputs.append(node)
            self.nodes[name] = node
            self.heads[name] = []
            self.tails[name] = deque()
            self.tail_bytes[name] = 0
            self.over[name] = 0
            self.over_lines[name] = 0
        return node

    def too_much(self) -> bool:
        """Whether the cell has printed OUTPUT_STOP times the limit (and is not stopped yet)."""
        return bool(self.limit) and not self.stopped and self.seen >= OUTPUT_STOP * self.limit

    def add(self, name: str, text: str) -> None:
        self._node(name)
        self.dirty = True
        n = _size(text)
        self.seen += n
        if not self.limit or (not self.full and self.kept + n <= self.limit):
            self.heads[name].append(text)
            self.kept += n
            return
        if not self.full:
            part = _cut(text, self.limit - self.kept)
            if len(part) < len(text):  # end the first part at a line, if there is one
                nl = part.rfind("\n")
                if nl >= 0:
                    part = part[: nl + 1]
                elif self.kept:
                    part = ""
            self.heads[name].append(part)
            self.kept += _size(part)
            text = text[len(part) :]
            n = _size(text)
            self.full = True
        self.over[name] += n
        self.over_lines[name] += text.count("\n")
        tail = self.tails[name]
        tail.append(text)
        self.tail_bytes[name] += n
        while len(tail) > 1 and self.tail_bytes[name] - _size(tail[0]) >= self.tail_limit:
            self.tail_bytes[name] -= _size(tail.popleft())

    def dropped(self) -> int:
        """Bytes dropped so far (what the tails do not keep)."""
        total = self.plain_dropped
        for name in self.nodes:
            if self.over[name]:
                total += self.over[name] - _size(self._tail_text(name))
        return total

    def _tail_text(self, name: str) -> str:
        text = "".join(self.tails[name])
        if _size(text) > self.tail_limit:
            text = text[-self.tail_limit :] if text.isascii() else text.encode()[-self.tail_limit :].decode("utf-8", "ignore")
            cut = text.find("\n")
            if 0 <= cut < len(text) - 1:  # start the tail at a line
                text = text[cut + 1 :]
        return text

    def flush(self) -> None:
        """Writes the text into the cell's stream outputs."""
        if not self.dirty:
            return
        self.dirty = False
        for name, node in self.nodes.items():
            head = "".join(self.heads[name])
            self.heads[name] = [head]
            if not self.over[name]:
                node["text"] = head
                continue
            tail = self._tail_text(name)
            dropped = self.over[name] - _size(tail)
            if dropped <= 0:  # the tail holds all of it
                node["text"] = head + tail
                continue
            lines = max(0, self.over_lines[name] - tail.count("\n"))
            sep = "" if not head or head.endswith("\n") else "\n"
            node["text"] = head + sep + output_note(dropped, lines, self.limit, _size(tail)) + tail


def output_note(dropped: int, lines: int | None, limit: int, tail: int) -> str:
    """The line that stands where a cell's output was dropped (lines None: a result's text)."""
    if lines is None:
        what, ko = f"{human_size(dropped)} of this result", f"결과가 너무 길어 {human_size(dropped)}"
        keeps = f"A cell keeps the first {human_size(limit)} of its output"
    else:
        what, ko = f"{human_size(dropped)} ({lines:,} lines) of output", f"출력이 너무 길어 {human_size(dropped)} ({lines:,}줄)"
        keeps = f"A cell keeps the first {human_size(limit)} of its output and the last {human_size(tail)}"
    return (
        f"[... {what} dropped here / {ko}를 생략했습니다. {keeps}; "
        "to keep more, run with --max-output SIZE or NBRUN_MAX_OUTPUT=SIZE (0: no limit) ...]\n"
    )


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` UTF-8 bytes."""
    if limit <= 0:
        return ""
    if text.isascii():
        return text[:limit]
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


# --------------------------------------------------------------------------------------------
# nbclient's loop in a worker thread


class _Worker:
    """A daemon thread that runs nbclient's loops, one notebook at a time, so that the main
    thread can take SIGINT and SIGTERM while a cell runs (see `processes`)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _loop(jobs: queue.Queue[Callable[[], None]]) -> None:
        while True:
            jobs.get()()

    def run(self, fn: Callable[[], Any]) -> tuple[bool, Any, BaseException | None]:
        """(finished, value, exception) of fn(). With a stop request it waits at most
        STOP_WAIT seconds more, then gives up on the thread (finished False)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._jobs = queue.Queue()
                self._thread = threading.Thread(target=self._loop, args=(self._jobs,), name="cnnkit-nbclient",
                                                daemon=True)
                self._thread.start()
            jobs = self._jobs
        done = threading.Event()
        box: dict[str, Any] = {}

        def job() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                box["error"] = exc
            finally:
                done.set()

        jobs.put(job)
        stopped = None
        while not done.wait(0.2):
            if STOP.requested:
                stopped = stopped or time.monotonic()
                if time.monotonic() - stopped > STOP_WAIT:
                    with self._lock:  # the thread is stuck: the next notebook gets a new one
                        self._thread = None
                    return False, None, None
        return True, box.get("value"), box.get("error")


_WORKER = _Worker()


# --------------------------------------------------------------------------------------------
# The run


class _Stop(Exception):
    """Raised from a hook to end nbclient's cell loop (after a failure, on a stop request)."""


@dataclass
class _Cell:
    """The code cell that runs now."""

    index: int
    number: int
    line: str
    started: float
    seconds: float = 0.0


@dataclass
class _Request:
    """An execute request: its cell, and whether the cell has ended."""

    cell: Any
    index: int
    finished: bool = False


class NotebookRun:
    """Runs one notebook with a fresh evcxr kernel and judges it.

    env: the kernel's environment (`kernel_env.kernel_env`, `kernel_env.kernel_environment`);
        default: the caller's environment with `:cache`, a kernel-owned build folder, full mode.
    timeout: seconds per cell (a tag `timeout=N` on a cell overrides it).
    dep_timeout: if set, cells that start with `:dep` (they compile crates) get at least this
        many seconds (grading gives the other cells a short timeout).
    grace: seconds to keep reading late output after each cell.
    max_output: bytes of output text each cell keeps (0: all of it); see `_Text`.
    keep_going: run every cell even after a failing one (grading): every failure is recorded,
        and a cell that runs out of time is interrupted (evcxr then ends its evaluation
        process and starts a new one: functions are kept, variables are lost) instead of
        ending the kernel.
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
        dep_timeout: int | None = None,
        grace: float = DEFAULT_GRACE,
        startup_timeout: int = DEFAULT_STARTUP_TIMEOUT,
        max_output: int = DEFAULT_MAX_OUTPUT,
        keep_going: bool = False,
        log_path: str | Path | None = None,
        echo: bool = False,
        kernel_name: str = KERNEL,
        progress: Callable[..., None] | None = say,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.env = env
        self.timeout = timeout
        self.dep_timeout = dep_timeout
        self.grace = grace
        self.startup_timeout = startup_timeout
        self.max_output = max(0, int(max_output))
        self.keep_going = keep_going
        self.log_path = Path(log_path) if log_path is not None else None
        self.echo = echo
        self.kernel_name = kernel_name
        self.progress = progress
        self._owner = f"{id(self):x}-{time.monotonic_ns()}"

    # -- public ---------------------------------------------------------------------------

    def execute(self) -> NotebookResult:
        result = NotebookResult(path=str(self.path), name=self.name)
        if STOP.requested:
            return not_run(self.path, self.name, f"not run: the run was stopped by {STOP.name} before this notebook")
        started = time.monotonic()
        try:
            nb = nbformat.read(self.path, as_version=4)
            nbformat.validate(nb)
        except Exception as exc:  # not JSON, not a notebook, unreadable
            result.failure = Failure(-1, 0, "", Reason.INVALID_NOTEBOOK, invalid_notebook_message(self.path, exc))
            result.failures = [result.failure]
            self._say(f"  {result.failure.reason}: {result.failure.message.splitlines()[0]}")
            result.seconds = round(time.monotonic() - started, 1)
            return result
        result.nb = nb
        self._result = result
        self._code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        result.code_cells = len(self._code)
        self._requests: dict[str, _Request] = {}  # execute request id -> its cell
        self._texts: dict[int, _Text] = {}  # cell index -> its stream text
        self._idle: set[str] = set()  # requests whose cell the kernel reported done
        self._late: set[int] = set()  # cells that received output after they were done
        self._current: _Cell | None = None
        self._echoed = False
        self._failures: list[Failure] = []
        self._stopped = False  # `_on_cell_start` ended the loop because of a stop request
        self._flood: int | None = None  # the cell whose output flood made the run end the kernel
        self._procs: list[Any] = []  # the kernel's subprocess.Popen

        self.client = client = _Client(
            nb,
            kernel_name=self.kernel_name,
            kernel_manager_class=EvcxrKernelManager,
            config=Config({"EvcxrKernelManager": {"owner": self._owner}}),
            timeout=self.timeout,
            timeout_func=self._timeout_of,
            startup_timeout=self.startup_timeout,
            allow_errors=True,  # the rules judge errors; nbclient must run on
            # Grading: a cell out of time is interrupted, and nbclient goes on at once with
            # this stand-in reply (the kernel's own reply follows; `_on_cell_executed` checks it).
            interrupt_on_timeout=self.keep_going,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "", "traceback": []} if self.keep_going else None,
            record_timing=True,
            coalesce_streams=True,
            skip_cells_with_tag=TAG_SKIP,
            resources={"metadata": {"path": str(self.path.parent.resolve())}},
            on_notebook_start=self._on_notebook_start,
            on_cell_start=self._on_cell_start,
            on_cell_execute=self._on_cell_execute,
            on_cell_executed=self._on_cell_executed,
        )
        client.run = self
        env = self.env if self.env is not None else kernel_env(False, None, True)
        with self._log() as log:
            finished, _, error = _WORKER.run(lambda: client.execute(env=env, stdout=log, stderr=subprocess.STDOUT))
            # nbclient registers its kernel clean-up with atexit and forgets to unregister it
            # when the kernel fails to start; at exit it would then fail with a traceback.
            atexit.unregister(client._cleanup_kernel)
            self._procs = [k.process for k in KERNELS.owned(self._owner) if k.process is not None] or self._procs
            ended = KERNELS.end_owned(self._owner)
        if not finished:
            error = DeadKernelError("nbclient did not end after the kernel was killed")
        result.complete = finished and error is None and not STOP.requested
        self._outcome(error, ended)
        for text in self._texts.values():
            text.flush()
        result.output_dropped = sum(t.dropped() for t in self._texts.values())
        result.seconds = round(time.monotonic() - started, 1)
        result.failures = list(self._failures)
        result.failure = self._failures[0] if self._failures else None
        result.status = "failed" if self._failures else "passed"
        if self.log_path is not None:
            result.log = str(self.log_path)
        return result

    def _outcome(self, error: BaseException | None, ended: list[int]) -> None:
        """Records how nbclient's loop ended (error None: normally, or by `_Stop`)."""
        if error is None or isinstance(error, _Stop):
            if STOP.requested and (self._current is not None or self._stopped):
                self._interrupted(self._end_current())
            return
        if STOP.requested:
            self._interrupted(self._end_current())
        elif isinstance(error, CellTimeoutError):
            cur = self._end_current()
            secs = self._timeout_of(self.client.nb.cells[cur.index]) if cur.index >= 0 else self.timeout
            self._fail(cur, Reason.TIMEOUT, (
                f"the cell ran longer than its timeout of {secs} s, so the runner ended its kernel and the "
                "notebook's later cells did not run. If the cell needs longer, give it a tag timeout=SECONDS "
                "or run with --timeout SECONDS; if it should not take this long, look for a loop that never ends."
            ))
        elif self._flood is not None and not isinstance(error, KeyboardInterrupt):
            cur = self._end_current()
            if not any(f.reason is Reason.OUTPUT_LIMIT for f in self._failures):
                self._fail(cur, Reason.OUTPUT_LIMIT, self._flood_message(self._flood))
        elif isinstance(error, DeadKernelError):
            cur = self._end_current()
            self._fail(cur, Reason.DEAD_KERNEL, self._dead_kernel_message(ended))
        elif isinstance(error, KeyboardInterrupt):
            raise error
        else:  # the kernel did not start, or the run broke down
            if not self._failures:
                self._failures.append(Failure(-1, 0, "", Reason.KERNEL_ERROR, (
                    f"{type(error).__name__}: {error}\nThe kernel `{self.kernel_name}` did not start or stopped "
                    "answering. Check that `make setup` has run (it installs evcxr_jupyter and the kernel), "
                    + (f"and read the kernel's log {self.log_path}." if self.log_path else "and run the notebook again.")
                )))
                self._say(f"\n  ERROR: {type(error).__name__}: {error}")

    def _flood_message(self, cell_index: int) -> str:
        text = self._texts[cell_index]
        return (
            f"the cell printed more than {human_size(OUTPUT_STOP * text.limit)} ({OUTPUT_STOP} times the output limit "
            f"of {human_size(text.limit)}), so the runner stopped it by ending its kernel (evcxr forwards output line "
            "by line, slower than a cell prints, and would have gone on for minutes); the notebook's later cells did "
            f"not run. The cell's output keeps the first {human_size(text.limit)} and the last "
            f"{human_size(text.tail_limit)}. Print less (for example every 100th step), or raise the limit with "
            "--max-output SIZE or NBRUN_MAX_OUTPUT=SIZE (0: no limit)."
        )

    def _dead_kernel_message(self, ended: list[int]) -> str:
        how = "it ended"
        for kernel_proc in self._procs:
            rc = kernel_proc.poll()
            if rc is not None and rc < 0:
                name = signal_name(-rc)
                how = f"killed by {name}"
                if -rc == 9:
                    how += " (by hand, or by the system's out-of-memory killer: `dmesg` shows which)"
            elif rc is not None:
                how = f"exit status {rc}"
        text = f"the kernel process died while this cell ran ({how})."
        if ended:
            text += f" Its processes that were still running ({', '.join(map(str, ended))}) have been ended."
        text += (
            " The notebook's later cells did not run: run it again. If the kernel dies at this cell again, "
            "the cell may need more memory than the machine has."
        )
        if self.log_path is not None:
            text += f" The kernel's log: {self.log_path}"
        return text

    def _interrupted(self, cur: _Cell) -> None:
        ended = f" (processes {', '.join(map(str, STOP.ended))})" if STOP.ended else ""
        when = "while this cell ran" if cur.index >= 0 else "before the notebook's first cell ran"
        self._fail(cur, Reason.INTERRUPTED, (
            f"the run was stopped by {STOP.name} {when}; its kernel and the kernel's processes "
            f"were ended{ended}, and the notebook's later cells did not run."
        ))

    def _timeout_of(self, cell: Any) -> int:
        return cell_timeout(cell, self.timeout, self.dep_timeout)

    # -- nbclient hooks -------------------------------------------------------------------

    def _on_notebook_start(self, notebook: Any) -> None:
        kc = self.client.kc
        channel = kc.iopub_channel
        assert isinstance(channel, ObservedChannel), "the kernel client must come from EvcxrKernelManager"
        channel.observer = self._observe
        channel.reader = self._read_raw
        kc.on_execute = self._on_execute
        self._procs = [k.process for k in KERNELS.owned(self._owner) if k.process is not None]
        KERNELS.note_children(self._owner)

    def _on_cell_start(self, cell: Any, cell_index: int) -> None:
        if STOP.requested:
            self._stopped = True
            raise _Stop()
        if self._failures and not self.keep_going:
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
        self._texts[cell_index] = _Text(cell, self.max_output)
        self._result.cells_run = n
        self._echoed = False
        # If this cell never finishes (timeout, dead kernel), kill the kernel at the end
        # instead of asking it to shut down; `_on_cell_executed` takes this back.
        self.client.shutdown_kernel = "immediate"

    def _on_execute(self, msg_id: str) -> None:
        if self._current is not None:
            self._requests[msg_id] = _Request(self.client.nb.cells[self._current.index], self._current.index)

    async def _on_cell_executed(self, cell: Any, cell_index: int, execute_reply: dict[str, Any] | None) -> None:
        self.client.shutdown_kernel = "graceful"
        reply = execute_reply or {}
        request = (reply.get("parent_header") or {}).get("msg_id")
        timed_out = (reply.get("content") or {}).get("ename") == TIMEOUT_ENAME and self.keep_going
        if request in self._requests:
            self._requests[request].finished = True
        if timed_out:
            await self._wait_idle(request)
        await self._drain()
        KERNELS.note_children(self._owner)
        cur = self._end_current()
        self._flush(cell_index)
        late_note = ""
        # Output of an earlier cell that arrived late can still fail that cell.
        for late in sorted(self._late - {cell_index}):
            self._flush(late)
            found = late_failure(self.client.nb.cells[late])
            if found and (self.keep_going or not self._failures) and not any(f.cell_index == late for f in self._failures):
                earlier = self.client.nb.cells[late]
                self._failures.append(Failure(late, self._number(late), first_line(earlier.source), *found))
                late_note = f"code cell {self._number(late)}, whose output came late"
        self._late.clear()
        capped = self._capped_note(cell_index)
        if timed_out:
            self._timed_out(cell, cell_index, cur, request)
            return
        if late_note and not self.keep_going:
            self._say(f"FAILED ({self._failures[0].reason} in {late_note}) {cur.seconds:.1f} s")
            return
        found, note = check_cell(cell)
        if self._flood == cell_index:
            found = (Reason.OUTPUT_LIMIT, self._flood_message(cell_index))
        if found is not None:
            self._failures.append(Failure(cell_index, cur.number, cur.line, *found))
            going = "; the notebook goes on" if self.keep_going else ""
            self._say(f"FAILED ({found[0]}{going}){capped} {cur.seconds:.1f} s")
        else:
            late = f" (FAILED: {late_note})" if late_note else ""
            self._say(f"{note}{capped}{late} {cur.seconds:6.1f} s")

    def _timed_out(self, cell: Any, cell_index: int, cur: _Cell, request: str | None) -> None:
        """A grading run's cell that ran out of time and was interrupted."""
        secs = self._timeout_of(cell)
        # evcxr's own report of the interrupt ("Subprocess terminated with status: signal: 9")
        # gives way to a message that says what happened.
        cell.outputs = [o for o in cell.outputs if not (
            o.get("output_type") == "error" and strip_ansi(o.get("evalue", "")).startswith("Subprocess terminated"))]
        note = timeout_note(secs)
        cell.outputs.append(nbformat.v4.new_output("error", ename=TIMEOUT_ENAME, evalue=note, traceback=[note]))
        if request not in self._idle:
            self._failures.append(Failure(cell_index, cur.number, cur.line, Reason.TIMEOUT, (
                f"the cell ran longer than its timeout of {secs} s and did not stop when interrupted, so the "
                "runner ended its kernel; the notebook's later cells did not run."
            )))
            self._say(f"FAILED (timeout; the kernel did not stop the cell, so it was ended) {cur.seconds:.1f} s")
            self.client.shutdown_kernel = "immediate"
            raise _Stop()
        self._failures.append(Failure(cell_index, cur.number, cur.line, Reason.TIMEOUT, (
            f"the cell ran longer than its timeout of {secs} s and was stopped; the notebook went on with the "
            "next cell in a new evaluation process (functions are kept, variables are lost)."
        )))
        self._say(f"FAILED (timeout after {secs} s: stopped; the notebook goes on) {cur.seconds:.1f} s")

    async def _wait_idle(self, request: str | None) -> None:
        """After an interrupt: reads iopub until the kernel reports the request done (or
        INTERRUPT_WAIT seconds pass)."""
        deadline = time.monotonic() + INTERRUPT_WAIT
        kc = self.client.kc
        while request not in self._idle and time.monotonic() < deadline:
            with contextlib.suppress(Empty):
                await kc.iopub_channel.get_msg(timeout=max(0.01, deadline - time.monotonic()))

    # -- output ---------------------------------------------------------------------------

    def _read_raw(self, frames: list[bytes], session: Any) -> bool:
        """Takes a stream message of one of this notebook's requests from its frames
        (signature, header, parent header, metadata, content); False leaves it to the usual
        decoding."""
        if len(frames) < 5 or b'"stream"' not in frames[1]:
            return False
        try:
            header = json.loads(frames[1])
            if header.get("msg_type") != "stream":
                return False
            request = self._requests.get(json.loads(frames[2]).get("msg_id"))
            if request is None:
                return False
            if session.auth is not None and not hmac.compare_digest(bytes(frames[0]), session.sign(frames[1:5])):
                return False
            content = json.loads(frames[4])
        except (ValueError, AttributeError, TypeError):
            return False
        self._stream(request, content.get("name", "stdout"), content.get("text", ""))
        return True

    def _stream(self, request: _Request, name: str, text: str) -> None:
        if self.echo:
            if not self._echoed:
                self._say()
                self._echoed = True
            for line in text.splitlines():
                self._say(f"         {'!' if name == 'stderr' else '|'} {line}")
        target = self._texts.get(request.index)
        if target is None or target.cell is not request.cell:
            target = self._texts[request.index] = _Text(request.cell, self.max_output)
        target.add(name, text)
        if request.finished:
            self._late.add(request.index)
        elif target.too_much():
            # evcxr forwards a cell's output line by line, ~80 us a line, while the cell prints
            # much faster into evcxr's own unbounded queue: a cell printing 50 MB would go on
            # for minutes, with the kernel growing to hundreds of MB, long after its output
            # stopped being kept. Only ending the kernel stops that (an interrupt, or ending
            # the evaluation process, does not reach the queue).
            target.stopped = True
            self._flood = request.index
            KERNELS.end_owned(self._owner)

    def _filter_output(self, msg: dict[str, Any], cell_index: int) -> dict[str, Any] | None:
        """nbclient's `output` asks this first: stream text goes to `_stream` (None: nbclient
        adds nothing), the text of a result counts against the cap."""
        msg_type = msg.get("msg_type")
        if msg_type == "stream":
            parent = (msg.get("parent_header") or {}).get("msg_id")
            request = self._requests.get(parent)
            if request is None:
                request = self._requests[parent] = _Request(self.client.nb.cells[cell_index], cell_index)
            content = msg.get("content", {})
            self._stream(request, content.get("name", "stdout"), content.get("text", ""))
            return None
        if msg_type in ("execute_result", "display_data") and self.max_output:
            text = self._texts.get(cell_index)
            plain = (msg.get("content", {}).get("data") or {}).get("text/plain")
            if text is not None and isinstance(plain, str):
                room = max(0, text.limit - text.kept)
                n = _size(plain)
                if n > room:
                    kept = _cut(plain, room)
                    note = output_note(n - _size(kept), None, text.limit, 0)
                    msg["content"]["data"]["text/plain"] = kept + "\n" + note
                    text.full = True
                    text.plain_dropped += n - _size(kept)
                text.kept += min(n, room)
        return msg

    def _flush(self, cell_index: int) -> None:
        text = self._texts.get(cell_index)
        if text is not None:
            text.flush()

    def _capped_note(self, cell_index: int) -> str:
        text = self._texts.get(cell_index)
        if text is None or not text.full:
            return ""
        return f", output capped at {human_size(text.limit)}: {human_size(text.dropped())} dropped"

    # -- late output ----------------------------------------------------------------------

    def _observe(self, msg: dict[str, Any]) -> None:
        """Sees every decoded iopub message: notes finished requests, files late output of
        finished cells."""
        parent = (msg.get("parent_header") or {}).get("msg_id")
        msg_type = msg.get("msg_type")
        if msg_type == "status" and (msg.get("content") or {}).get("execution_state") == "idle":
            self._idle.add(parent)
        request = self._requests.get(parent)
        if request is None or not request.finished or msg_type not in LATE_OUTPUT:
            return
        with contextlib.suppress(CellExecutionComplete):
            self.client.process_message(msg, request.cell, request.index)
        self._late.add(request.index)

    async def _drain(self) -> None:
        """Reads iopub until it has been quiet for `grace` seconds (`_observe` and `_stream`
        file what comes)."""
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
        if not self._failures or self.keep_going or reason is Reason.INTERRUPTED:
            self._failures.append(Failure(cur.index, cur.number, cur.line, reason, message))
        if cur.index >= 0:  # the cell's progress line waits for its verdict
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


def timeout_note(secs: int) -> str:
    """What a grading run writes into a cell that ran out of time (students read it)."""
    return (
        f"셀이 제한 시간 {secs}초 안에 끝나지 않아 실행을 멈췄습니다. 이 셀이 부르는 함수에 끝나지 않는 "
        f"반복(무한 루프)이 있는지 확인하세요. / The cell did not finish within its time limit of {secs} s "
        "and was stopped: check the functions it calls for a loop that never ends."
    )


def invalid_notebook_message(path: Path, exc: Exception) -> str:
    """Why a file is not a notebook, and what to do about it."""
    fix = f"Open it in a text editor or JupyterLab to see what it holds, or restore it from git (`git checkout -- {path}`)."
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a folder, not a notebook file."
    if isinstance(exc, OSError):
        return f"the file could not be read: {exc.strerror or exc}."
    if isinstance(exc, UnicodeDecodeError):
        return f"the file is not UTF-8 text, so it is not a notebook (byte {exc.start} cannot be read). {fix}"
    if type(exc).__name__ == "NotJSONError":
        where = ""
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            where = f" (line {err.lineno}, column {err.colno}: {err.msg})"
        except Exception:  # noqa: BLE001 - only for the position
            pass
        return (
            f"the file is not valid JSON{where}, so it is not a notebook: perhaps a save that was cut short, "
            f"a merge conflict, or another kind of file named .ipynb. {fix}"
        )
    detail = getattr(exc, "message", None) or str(exc)
    return (
        f"the file is JSON but not a valid notebook (nbformat 4): {type(exc).__name__}: {first_line(str(detail), 300)}. {fix}"
    )
