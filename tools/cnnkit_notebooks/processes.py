"""The kernels' processes, and how a run ends them: after each notebook, after a kernel died,
and on SIGINT or SIGTERM.

jupyter_client starts every kernel in a session of its own, so the kernel leads a process
group that also holds what it starts: evcxr_jupyter runs the cells in a child process (the
evaluation process), which stays in that group. Three things end them:

* after every notebook, `KERNELS.end_owned` kills what is left of the kernel's process
  group. A kernel killed with `kill -9` (or by the OOM killer) would otherwise leave its
  evaluation process running until its cell ends, since nbclient only shuts a kernel down
  that is still alive;
* `stop_on_signals` (cnnkit-run, cnnkit-student check/grade, pytest --nbrun): the first
  SIGINT or SIGTERM kills every kernel of the run with its group at once and asks the run
  to stop (`STOP`): the notebook that was running fails as `interrupted`, the others do not
  start, and the run still writes its report and its closing line. A second signal stops
  at once (KeyboardInterrupt);
* `NotebookRun` runs nbclient in a worker thread, so the main thread stays free to take the
  signal even while a cell runs, and nbclient's own SIGINT/SIGTERM handlers (which would
  replace ours and only schedule a shutdown) are not installed: asyncio refuses signal
  handlers outside the main thread, and nbclient then goes without.

Linux only (it reads /proc), like the rest of the project.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

SIGNAL_NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}


def signal_name(signum: int) -> str:
    if signum in SIGNAL_NAMES:
        return SIGNAL_NAMES[signum]
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# --------------------------------------------------------------------------------------------
# /proc


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (ended, waiting to be reaped)."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group."""
    out = []
    for pid in _pids():
        st = _stat(pid)
        if st is not None and st[2] == pgid and st[0] not in ("Z", "X"):
            out.append(pid)
    return out


def descendants(pid: int) -> list[int]:
    """The live descendants of a process (children first)."""
    children: dict[int, list[int]] = {}
    for p in _pids():
        st = _stat(p)
        if st is not None and st[0] not in ("Z", "X"):
            children.setdefault(st[1], []).append(p)
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int, include_root: bool = True, wait: float = 5.0) -> list[int]:
    """SIGKILL to a process's descendants (and the process itself with include_root);
    returns the pids that were alive."""
    victims = descendants(pid) + ([pid] if include_root and alive(pid) else [])
    for p in victims:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(alive(p) for p in victims):
        time.sleep(0.02)
    return victims


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def kill_group(pgid: int, extra: list[int] | tuple[int, ...] = (), wait: float = 5.0) -> list[int]:
    """SIGKILL to the process group and to `extra` processes; waits up to `wait` seconds
    until they are gone. Returns the pids that were alive before."""
    victims = sorted(set(group_members(pgid)) | {p for p in extra if alive(p)})
    if not victims:
        return []
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)
    for pid in extra:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(alive(p) for p in victims):
        time.sleep(0.02)
    return victims


# --------------------------------------------------------------------------------------------
# The kernels of this process


@dataclass
class Kernel:
    pid: int
    pgid: int
    owner: str  # the NotebookRun that started it
    process: Any = field(default=None, repr=False)  # the kernel's subprocess.Popen
    children: set[int] = field(default_factory=set)  # its processes seen while it lived


class KernelRegistry:
    """Every kernel started by this process that may still have processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kernels: dict[int, Kernel] = {}

    def add(self, process: Any, pgid: int | None, owner: str) -> Kernel:
        kernel = Kernel(process.pid, pgid or process.pid, owner, process)
        with self._lock:
            self._kernels[kernel.pid] = kernel
        if STOP.signum is not None:  # started while the run was being stopped
            self.end(kernel)
        return kernel

    def owned(self, owner: str) -> list[Kernel]:
        with self._lock:
            return [k for k in self._kernels.values() if k.owner == owner]

    def note_children(self, owner: str) -> None:
        """Remembers the current descendants of the owner's kernels (in case one of them
        leaves the kernel's process group)."""
        for kernel in self.owned(owner):
            if alive(kernel.pid):
                kernel.children.update(descendants(kernel.pid))

    def end(self, kernel: Kernel) -> list[int]:
        """Kills the kernel's process group and its known children; returns the pids that
        were still alive."""
        ended = kill_group(kernel.pgid, sorted(kernel.children))
        with self._lock:
            self._kernels.pop(kernel.pid, None)
        return ended

    def end_owned(self, owner: str) -> list[int]:
        ended: list[int] = []
        for kernel in self.owned(owner):
            ended += self.end(kernel)
        return ended

    def end_all(self) -> list[int]:
        with self._lock:
            kernels = list(self._kernels.values())
        ended: list[int] = []
        for kernel in kernels:
            ended += self.end(kernel)
        return ended


KERNELS = KernelRegistry()


# --------------------------------------------------------------------------------------------
# SIGINT and SIGTERM


class StopRequest:
    """Set by the first SIGINT or SIGTERM while `stop_on_signals` is active."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.ended: list[int] = []

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal_name(self.signum) if self.signum is not None else ""

    def exit_status(self) -> int:
        return 128 + (self.signum or 0)

    def reset(self) -> None:
        self.signum = None
        self.ended = []


STOP = StopRequest()


def _write(text: str) -> None:
    # os.write: print() from a signal handler can collide with a print the handler interrupted.
    with contextlib.suppress(OSError):
        os.write(2, text.encode())


@contextlib.contextmanager
def stop_on_signals(prog: str) -> Iterator[StopRequest]:
    """While the block runs, the first SIGINT or SIGTERM ends every kernel of this process
    (with its process group) and sets `STOP`; the run is expected to stop at the next
    notebook and report. A second signal raises KeyboardInterrupt. Outside the main thread
    this does nothing (Python delivers signals to the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return
    STOP.reset()

    def handler(signum: int, frame: Any) -> None:
        if STOP.signum is not None:
            _write(f"\n{prog}: {signal_name(signum)} again: stopping at once\n")
            raise KeyboardInterrupt
        STOP.signum = signum
        _write(f"\n{prog}: {signal_name(signum)} received: ending the kernels and their processes; "
               "the run stops after writing its report (send it again to stop at once)\n")
        STOP.ended = KERNELS.end_all()

    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, handler)
    try:
        yield STOP
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        STOP.reset()
