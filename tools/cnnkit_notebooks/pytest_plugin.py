"""pytest plugin: each notebook one test item, run by the project's rules (like nbmake).

    pytest --nbrun notebooks/                       # every notebook, full settings
    pytest --nbrun --nbrun-quick notebooks/ --ignore=notebooks/exercises --junitxml=nb.xml
    pytest --nbrun --nbrun-out build/nb notebooks/02_convolution_layer.ipynb

Installed with the package (entry point `pytest11`), so any pytest in the venv has these
options; without `--nbrun` the plugin collects nothing. A notebook passes or fails as with
cnnkit-run (`cnnkit_notebooks.run.NotebookRun`); the failure report names the cell, the
`Reason` and the compiler or panic message, and `--junitxml` gives JUnit output with one
test case per notebook (properties: reason, cells run, seconds). All notebooks of a session
share one kernel environment (the locked build folder of `kernel_env.kernel_environment`).
With `--nbrun-out DIR` the session also writes what cnnkit-run writes: executed notebooks,
HTML pages, kernel logs, index.html and report.json.

From the first notebook on, SIGINT and SIGTERM end the kernels and their processes at once
(`processes.stop_on_signals`): the running notebook fails as `interrupted` and the session
stops after it, with its report and JUnit file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import time
from pathlib import Path
from typing import Any

import pytest

from .run import DEFAULT_GRACE, DEFAULT_STARTUP_TIMEOUT, DEFAULT_TIMEOUT


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbrun", "Rust notebooks with the evcxr kernel (cnnkit_notebooks)")
    group.addoption("--nbrun", action="store_true", help="collect *.ipynb files: each notebook one test")
    group.addoption("--nbrun-quick", action="store_true", help="quick mode: CNNKIT_QUICK=1 in the kernels")
    group.addoption(
        "--nbrun-timeout",
        type=int,
        default=int(os.environ.get("NBRUN_TIMEOUT", DEFAULT_TIMEOUT)),
        help=f"seconds per cell (default {DEFAULT_TIMEOUT}, or NBRUN_TIMEOUT); a cell tag timeout=N overrides it",
    )
    group.addoption("--nbrun-grace", type=float, default=DEFAULT_GRACE, help="seconds to wait for late stderr per cell")
    group.addoption("--nbrun-startup-timeout", type=int, default=DEFAULT_STARTUP_TIMEOUT, help="seconds for a kernel to start")
    group.addoption("--nbrun-max-output", metavar="SIZE", default=None,
                    help="bytes of output text a cell keeps (default 1 MB, or NBRUN_MAX_OUTPUT; 500k, 2M, 0 = no limit)")
    group.addoption("--nbrun-out", metavar="DIR", help="write executed notebooks, pages, index.html, report.json here")
    group.addoption("--nbrun-no-html", action="store_true", help="with --nbrun-out: no HTML pages")
    group.addoption("--nbrun-kernel", default=None, help="kernel name (default: rust)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not parent.config.getoption("nbrun"):
        return None
    if file_path.suffix != ".ipynb" or ".ipynb_checkpoints" in file_path.parts:
        return None
    return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name=self.path.name)


class NotebookFailed(Exception):
    """The notebook failed by the runner's rules (carries its result)."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.failure.headline())
        self.result = result


class NotebookItem(pytest.Item):
    def runtest(self) -> None:
        from .processes import STOP

        result = _session(self.config).run(self.path, self._output_name())
        if STOP.requested:
            self.session.shouldstop = f"stopped by {STOP.name}: the kernels and their processes were ended"
        self.user_properties += [
            ("reason", result.failure.reason.value if result.failure else ""),
            ("cells_run", f"{result.cells_run}/{result.code_cells}"),
            ("seconds", f"{result.seconds:.1f}"),
        ]
        if not result.passed:
            raise NotebookFailed(result)

    def _output_name(self) -> str:
        """The output files' name: the path below pytest's rootdir without .ipynb."""
        try:
            return self.path.relative_to(self.config.rootpath).with_suffix("").as_posix()
        except ValueError:
            return self.path.stem

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, NotebookFailed):
            r = excinfo.value.result
            f = r.failure
            lines = [
                f"{self.path.name}: {f.headline()}",
                f"reason: {f.reason.value} ({f.reason.name}); {r.cells_run}/{r.code_cells} code cells run, "
                f"{r.seconds:.1f} s",
                "",
                f.message,
            ]
            if r.log:
                lines += ["", f"kernel log: {r.log}"]
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"notebook {self.path.name}"


class _Session:
    """The kernel environment and output folder shared by the notebooks of one session."""

    def __init__(self, config: pytest.Config) -> None:
        from .cli import default_max_output
        from .console import parse_size
        from .kernel_env import kernel_environment
        from .processes import stop_on_signals
        from .report import Outputs

        opt = config.getoption
        self.quick = bool(opt("nbrun_quick"))
        self.timeout = opt("nbrun_timeout")
        self.grace = opt("nbrun_grace")
        self.startup_timeout = opt("nbrun_startup_timeout")
        self.kernel = opt("nbrun_kernel")
        size = opt("nbrun_max_output")
        try:
            self.max_output = parse_size(size) if size is not None else default_max_output("pytest --nbrun")
        except ValueError as exc:
            raise pytest.UsageError(f"--nbrun-max-output: {exc}") from None
        self.stack = contextlib.ExitStack()
        try:
            self.stack.enter_context(stop_on_signals("pytest --nbrun"))
            out = opt("nbrun_out")
            self.outputs = Outputs(Path(out), html_pages=not opt("nbrun_no_html"), prog="pytest --nbrun") if out else None
            if self.outputs is not None:
                self.stack.callback(self.outputs.close)
            self.env = self.stack.enter_context(kernel_environment(self.quick))
        except BaseException:
            self.stack.close()
            raise
        self.results: list[Any] = []
        self.started = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.t0 = time.monotonic()

    def run(self, path: Path, name: str) -> Any:
        from .kernel_env import KERNEL
        from .run import NotebookRun

        print(f"\n{path}")
        result = NotebookRun(
            path,
            name=name,
            env=self.env,
            timeout=self.timeout,
            grace=self.grace,
            startup_timeout=self.startup_timeout,
            max_output=self.max_output,
            log_path=self.outputs.log_path(name) if self.outputs else None,
            kernel_name=self.kernel or KERNEL,
        ).execute()
        if self.outputs:
            problem = self.outputs.write(result)
            if problem:
                print(f"  ({problem})")
        self.results.append(result)
        return result

    def close(self) -> Path | None:
        try:
            if self.outputs is None:
                return None
            return self.outputs.finish(self.results, self.quick, self.started, time.monotonic() - self.t0)
        finally:
            self.stack.close()


_SESSION = pytest.StashKey[_Session]()


def _session(config: pytest.Config) -> _Session:
    """Created with the first notebook, so that a session without notebooks locks nothing."""
    if _SESSION not in config.stash:
        config.stash[_SESSION] = _Session(config)
    return config.stash[_SESSION]


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_SESSION, None)
    if state is not None:
        index = state.close()
        del session.config.stash[_SESSION]
        if index is not None:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"notebook pages: {index}")
