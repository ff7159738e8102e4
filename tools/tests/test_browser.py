"""JupyterLab in a real browser: the project's JupyterLab (the settings of `make lab`) with
headless Chromium driven through WebDriver (selenium and Debian's chromium-driver).

* `test_run_all_renders_chart_image_and_table`: a small cnnkit notebook, run with the menu
  Run > Run All Cells, shows a plotters SVG chart, a PNG image and an HTML table, every
  code cell gets an execution count, and no cell shows an error (a warning on stderr is
  no error).
* `test_a_compile_error_is_seen_as_an_error`: the same check finds the error of a cell
  that does not compile (the check can fail).
* `test_interrupted_training_resumes`: a training cell with `FitConfig::checkpoint_dir`,
  interrupted with the toolbar's stop button after its second epoch, continues after the
  last saved epoch when the notebook is run again ("Resuming") and ends with the last
  epoch. (evcxr's interrupt ends the cell's evaluation process, so the variables are lost
  and the test runs all cells again; the kernel itself stays.)

What JupyterLab 4.6 shows for an error: evcxr sends a compile error, a panic's end of the
evaluation process and an interrupt as an `error` message (output_type "error"), and
JupyterLab renders an error output with its stderr renderer, exactly like a `stream`
output on stderr: `.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]`,
no class or attribute of its own (its model also carries the MIME type
`application/vnd.jupyter.error`, for which JupyterLab has no renderer). The DOM alone
cannot tell a compiler's error from a warning on stderr, so `errors` reads the output
types from JupyterLab's own notebook model in the page (`window.jupyterapp`, which the
server exposes with `--LabApp.expose_app_in_browser`) and names the rendered element of
each error output; it also counts any output rendered as `application/vnd.jupyter.error`.

The notebooks are written by the tests into a temporary folder (the repository's
notebooks are never opened), with the `:dep` path of the crates spelt out. All kernels of
the session build in one fixed evcxr build folder below the tools' base folder (the one
`NBRUN_EVCXR_DIR` names in `make test`), locked as the runner locks it, one kernel at a
time: the crates are compiled once per session, not once per kernel as `make lab`'s
per-kernel folders would. On failure a screenshot, the notebook's state as JupyterLab
holds it and the server's log are kept in build/test/browser/.

Needs the Debian packages chromium and chromium-driver and the pinned selenium (make
setup); without them the tests are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnkit_notebooks.kernel_env import evcxr_installed, evcxr_tmpdir
from cnnkit_notebooks.lab import lab_command, lab_env
from cnnkit_notebooks.paths import BUILD, NOTEBOOKS, ROOT

T = TypeVar("T")

OUT = BUILD / "test" / "browser"
CRATE = ROOT / "crates" / "cnnkit"

#: The flags the browser starts with: headless, and nothing that reaches for the network
#: (the machine's network is closed); each session gets a fresh --user-data-dir.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)

# Time limits, generous: in `make test` the exercise notebooks compile and train on the
# same two cores at the same time.
SERVER_START = 120.0  # JupyterLab answers on its port
PAGE_LOAD = 300.0  # the notebook is shown and its kernel answers (the runner allows 180 s)
FIRST_RUN = 900.0  # the first Run All: compiles the crates (minutes on a cold cache)
RUN = 600.0  # a later Run All, with the crates built
STOP = 60.0  # the training cell stops after the stop button

_TIMES: dict[str, float] = {}


def in_ci() -> bool:
    """Whether this is a CI run (CI=true), where missing browser tools are a failure."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_tools() -> list[str]:
    """What the browser tests need and this machine lacks."""
    missing = []
    if not shutil.which("chromium"):
        missing.append("chromium (apt-get install chromium)")
    if not shutil.which("chromedriver"):
        missing.append("chromedriver (apt-get install chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (make setup)")
    if not evcxr_installed():
        missing.append("evcxr_jupyter (make setup)")
    return missing


def say(text: str) -> None:
    """A progress line, shown with `pytest -s` and kept in the captured output otherwise."""
    print(f"[browser] {text}", flush=True)


def wait_for(what: str, timeout: float, probe: Callable[[], T | None], every: float = 1.0) -> T:
    """Calls probe until it returns something other than None or False; fails after
    timeout seconds, naming what it waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# The notebooks


def write_notebook(folder: Path, name: str, sources: list[str]) -> str:
    """Writes a Rust notebook of code cells (a source starting with "#" is a markdown
    cell) as folder/name.ipynb; returns its file name."""
    cells = [new_markdown_cell(s) if s.startswith("#") else new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
    nb.metadata["language_info"] = {"name": "Rust", "file_extension": ".rs"}
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name[:20]}-{i}"
    nbformat.validate(nb)
    nbformat.write(nb, folder / f"{name}.ipynb")
    return f"{name}.ipynb"


def dep_cell() -> str:
    """The notebooks' `:dep` line, with the crate's absolute path (the notebook is not in
    notebooks/, where the relative path of the lecture notebooks would hold)."""
    return f":dep cnnkit = {{ path = {json.dumps(str(CRATE))} }}"


def outputs_notebook(folder: Path) -> str:
    """One SVG chart (plotters), one PNG image, one HTML table, and a line on stderr that
    is a warning, not an error."""
    return write_notebook(folder, "browser_outputs", [
        "# 브라우저 점검 (browser check)\n\n차트, 이미지, 표가 보여야 합니다.",
        dep_cell(),
        "use cnnkit::prelude::*;",
        'let chart = plot::function(|z| z.max(0.0), -3.0..3.0, "ReLU(z) = max(0, z)")?;\nchart',
        "let gray = Array2::from_shape_fn((28, 28), |(r, c)| ((r + c) % 7) as f32 / 6.0);\nplot::show_gray(&gray)?",
        'plot::table(&["층", "출력 모양"], &[vec!["Conv2D".to_string(), "(28, 28, 8)".to_string()],'
        ' vec!["GlobalAvgPool2D".to_string(), "(8,)".to_string()]])',
        'eprintln!("a warning on stderr is not an error");',
    ])


def compile_error_notebook(folder: Path) -> str:
    """Plain Rust: its second code cell does not compile."""
    return write_notebook(folder, "browser_compile_error", [
        "let a = 1;",
        'let b: i32 = "two";',
        "a + 1",
    ])


EPOCHS = 8
#: Toy images per epoch: about 1.6 s per epoch on an idle machine (20,000 took 0.6 s, too
#: short to press the stop button between the second epoch and the last).
TOY_IMAGES = 100_000


def resume_notebook(folder: Path, checkpoints: Path) -> str:
    """A small CNN trained on the toy bars for EPOCHS epochs with a checkpoint after each."""
    return write_notebook(folder, "browser_resume", [
        dep_cell(),
        f"use cnnkit::prelude::*;\nlet checkpoints = std::path::PathBuf::from({json.dumps(str(checkpoints))});",
        "type Model = (Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<4, 2>);\n"
        "let mut model = Cpu::seed_from_u64(0).build_module::<Model, f32>();\n"
        f"let data = cnnkit::train::toy_bars({TOY_IMAGES}, 0);\n"
        f"let cfg = FitConfig {{ epochs: {EPOCHS}, verbose: true, checkpoint_dir: Some(checkpoints.clone()), "
        "..FitConfig::default() };\n"
        "let history = fit(&mut model, &data, None, &cfg)?;\n"
        "history.epochs.len()",
    ])


# --------------------------------------------------------------------------------------------
# JupyterLab and the browser


class Lab:
    """A JupyterLab server on 127.0.0.1 (a free port, a token) serving `root`, started
    with `make lab`'s command and kernel environment, plus the test's own options: no
    browser, the front-end app exposed to the page, settings and workspaces of its own
    (the user's are not read or written), no update check."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        state = root.parent / f"{root.name}-state"
        self.log_path = state / "jupyterlab.log"
        state.mkdir(parents=True, exist_ok=True)
        self.env = dict(env, JUPYTER_RUNTIME_DIR=str(state / "runtime"))
        self.args = lab_command(root) + [
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={state / 'settings'}",
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        t0 = time.monotonic()
        self._log = open(self.log_path, "wb")
        # A session of its own, so that stop() can end the server and its kernels by its id.
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"JupyterLab ended:\n{self.log()}"
            with contextlib.suppress(OSError, urllib.error.URLError):
                return self.api("status") is not None
            return False

        wait_for("JupyterLab to answer", SERVER_START, up, every=0.5)
        say(f"JupyterLab up on {self.base} in {time.monotonic() - t0:.1f} s")

    def api(self, path: str, method: str = "GET") -> Any:
        """A call of the server's REST API; the decoded JSON answer (None when empty)."""
        req = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
        return json.loads(body) if body.strip() else None

    def shutdown_kernels(self) -> None:
        """Ends every session and its kernel, so that the next notebook's kernel is the only
        one in the shared build folder."""
        for session in self.api("sessions"):
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api(f"sessions/{session['id']}", method="DELETE")
        wait_for("the kernels to end", 60, lambda: not self.api("kernels"))

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(OSError, urllib.error.URLError):
            self.api("shutdown", method="POST")  # ends the kernels, then the server
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)
        # Whatever is left in the server's session.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        # Kernels run in sessions of their own: find this server's by the runtime folder
        # in their environment, and end any that outlived the shutdown.
        with contextlib.suppress(AssertionError):
            wait_for("the kernels to end", 10, lambda: not self.leftovers(), every=0.5)
        for pid in self.leftovers():
            say(f"ending process {pid}, left behind by the JupyterLab server")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()

    def leftovers(self) -> list[int]:
        """Processes started by this server (they carry its JUPYTER_RUNTIME_DIR) still alive."""
        marker = f"JUPYTER_RUNTIME_DIR={self.env['JUPYTER_RUNTIME_DIR']}".encode()
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
        return found

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]
        return ""


# Reads the notebook `arguments[0]` as JupyterLab holds it: kernel status, and per cell its
# type, execution count, prompt as shown, outputs (type, stream name, MIME types, text) and
# the MIME type and text of each rendered output element. null while the app or the
# notebook is not there yet.
STATE_JS = r"""
const name = arguments[0];
const app = window.jupyterapp;
if (!app || !app.shell) return null;
let panel = null;
for (const w of app.shell.widgets('main')) {
  if (w.context && w.context.path === name && w.content && w.content.widgets) panel = w;
}
if (!panel) return null;
const text = (o) => {
  const join = (t) => Array.isArray(t) ? t.join('') : (t || '');
  if (o.output_type === 'stream') return join(o.text);
  if (o.output_type === 'error') return [o.ename, o.evalue, ...(o.traceback || [])].join('\n');
  const d = o.data || {};
  return join(d['text/plain']);
};
const session = panel.sessionContext.session;
const kernel = session && session.kernel;
return {
  ready: panel.context.isReady,
  kernel: kernel ? kernel.status : null,
  cells: panel.content.widgets.map((cell) => {
    const m = cell.model;
    if (m.type !== 'code') return {type: m.type};
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    return {
      type: 'code',
      count: m.executionCount,
      prompt: prompt ? prompt.textContent.trim() : '',
      outputs: m.outputs.toJSON().map((o) => ({
        output_type: o.output_type, name: o.name || null, mimes: Object.keys(o.data || {}), text: text(o),
      })),
      rendered: [...cell.node.querySelectorAll('.jp-OutputArea-output')].map((e) => ({
        mime: e.getAttribute('data-mime-type'), text: e.innerText.slice(0, 3000),
      })),
    };
  }),
};
"""

# What is drawn in the notebook's output areas: SVG charts, decoded PNG images, tables.
RENDERED_JS = r"""
const name = arguments[0];
let panel = null;
for (const w of window.jupyterapp.shell.widgets('main')) {
  if (w.context && w.context.path === name) panel = w;
}
const box = (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
const node = panel.node;
return {
  svg: [...node.querySelectorAll('.jp-OutputArea-output svg')].map((e) => ({
    size: box(e), texts: [...e.querySelectorAll('text')].map((t) => t.textContent).join(' | '),
  })),
  png: [...node.querySelectorAll('.jp-OutputArea-output img')].filter((e) => e.src.startsWith('data:image/png'))
    .map((e) => ({complete: e.complete, natural: [e.naturalWidth, e.naturalHeight], size: box(e)})),
  tables: [...node.querySelectorAll('.jp-OutputArea-output table')].map((e) => ({
    cells: [...e.querySelectorAll('th, td')].map((c) => c.textContent.trim()),
  })),
  error_mime: node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').length,
};
"""


def errors(state: dict[str, Any]) -> list[str]:
    """Every error a notebook shows: the outputs of type `error` in JupyterLab's model
    (evcxr's compile errors, an ended evaluation process, an interrupt), each with the
    text of the element JupyterLab rendered for it, and any output rendered with the
    error MIME type. Output on stderr from a `stream` (warnings, progress) is no error."""
    found = []
    for i, cell in enumerate(state["cells"]):
        if cell["type"] != "code":
            continue
        for j, out in enumerate(cell["outputs"]):
            if out["output_type"] == "error":
                shown = cell["rendered"][j] if j < len(cell["rendered"]) else {"mime": None, "text": ""}
                first = next((line for line in strip_ansi(shown["text"] or out["text"]).splitlines() if line.strip()), "")
                found.append(f"cell {i} ({cell['prompt']}): error output, rendered as {shown['mime']}: {first}")
        for shown in cell["rendered"]:
            if shown["mime"] == "application/vnd.jupyter.error":
                found.append(f"cell {i}: output rendered as application/vnd.jupyter.error")
    return found


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def cell_text(cell: dict[str, Any]) -> str:
    """Everything a code cell's outputs say, as text."""
    return strip_ansi("".join(o["text"] for o in cell["outputs"]))


class Page:
    """One notebook opened in the browser: the UI actions the tests take, and what the
    page shows."""

    def __init__(self, driver: Any, lab: Lab, name: str) -> None:
        self.driver = driver
        self.lab = lab
        self.name = name

    def open(self) -> None:
        """Opens the notebook in a workspace of its own (reset: nothing else is restored)."""
        t0 = time.monotonic()
        workspace = re.sub(r"\W", "-", self.name)
        self.driver.get(f"{self.lab.base}/lab/workspaces/{workspace}/tree/{self.name}?reset&token={self.lab.token}")
        wait_for(f"{self.name} to open with its kernel", PAGE_LOAD,
                 lambda: (s := self.state()) and s["ready"] and s["kernel"] in ("idle", "busy") and s["cells"])
        say(f"{self.name}: open, kernel {self.state()['kernel']}, in {time.monotonic() - t0:.1f} s")

    def state(self) -> dict[str, Any] | None:
        return self.driver.execute_script(STATE_JS, self.name)

    def rendered(self) -> dict[str, Any]:
        return self.driver.execute_script(RENDERED_JS, self.name)

    def menu(self, title: str, command: str) -> None:
        """Clicks the menu bar's `title`, then its item for `command` (data-command)."""
        from selenium.webdriver.common.by import By

        bar = [e for e in self.driver.find_elements(By.CSS_SELECTOR, "#jp-menu-panel .lm-MenuBar-item")
               if e.text.strip() == title]
        assert bar, f"no menu {title!r} in the menu bar"
        bar[0].click()
        item = wait_for(f"the menu item {command}", 10, lambda: next(iter(self.driver.find_elements(
            By.CSS_SELECTOR, f'.lm-Menu .lm-Menu-item[data-command="{command}"]')), None), every=0.2)
        item.click()

    def run_all(self) -> None:
        """Run > Run All Cells, then waits until every code cell shows it is queued or
        running (or already done)."""
        before = [c.get("count") for c in self.state()["cells"]]
        self.menu("Run", "runmenu:run-all")
        wait_for("Run All to start", 30, lambda: any(
            c["type"] == "code" and (c["prompt"] == "[*]:" or c.get("count") != b)
            for c, b in zip(self.state()["cells"], before)), every=0.2)

    def wait_done(self, timeout: float) -> dict[str, Any]:
        """Waits until no code cell is queued or running and the kernel is idle, twice in a
        row one second apart; returns the state."""
        seen = []

        def done() -> dict[str, Any] | None:
            s = self.state()
            quiet = s["kernel"] == "idle" and all(c["prompt"] != "[*]:" for c in s["cells"] if c["type"] == "code")
            seen.append(quiet)
            return s if quiet and len(seen) > 1 and seen[-2] else None

        return wait_for(f"{self.name}'s cells to finish", timeout, done)

    def toolbar(self, item: str) -> None:
        """Clicks the notebook toolbar's button `item` (data-jp-item-name)."""
        from selenium.webdriver.common.by import By

        buttons = self.driver.find_elements(
            By.CSS_SELECTOR, f'.jp-NotebookPanel-toolbar [data-jp-item-name="{item}"] :is(button, jp-button)')
        assert buttons, f"no toolbar button {item!r}"
        buttons[0].click()

    def keep(self, tag: str) -> None:
        """Keeps a screenshot, the state and the server's log in build/test/browser/."""
        OUT.mkdir(parents=True, exist_ok=True)
        stem = f"{Path(self.name).stem}-{tag}"
        with contextlib.suppress(Exception):
            self.driver.save_screenshot(str(OUT / f"{stem}.png"))
        with contextlib.suppress(Exception):
            (OUT / f"{stem}.json").write_text(json.dumps(self.state(), indent=1, ensure_ascii=False), encoding="utf-8")
        with contextlib.suppress(OSError):
            shutil.copy(self.lab.log_path, OUT / f"{stem}.jupyterlab.log")
        # The server's kernels and what they run now (cargo, rustc, the evaluation process).
        pids = ",".join(map(str, self.lab.leftovers()))
        ps = subprocess.run(["ps", "-o", "pid,ppid,etime,pcpu,stat,args", "-p", pids or "1"],
                            capture_output=True, text=True).stdout
        with contextlib.suppress(OSError):
            (OUT / f"{stem}.processes.txt").write_text(f"load average: {os.getloadavg()}\n{ps}", encoding="utf-8")
        say(f"kept {OUT / stem}.png, .json, .jupyterlab.log, .processes.txt")


@pytest.fixture(scope="module")
def tools() -> None:
    missing = missing_tools()
    if missing:
        why = "the browser tests need " + ", ".join(missing)
        if in_ci():
            pytest.fail(why + " (CI=true: not skipped)")
        pytest.skip(why)


@pytest.fixture(scope="module")
def lab(tools: None, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    # evcxr reads evcxr.toml from the notebook's folder (a panic ends the evaluation process).
    shutil.copy(NOTEBOOKS / "evcxr.toml", root / "evcxr.toml")
    with evcxr_tmpdir(True) as build:
        server = Lab(root, lab_env(tmpdir=build))
        say(f"kernels build in {build or server.env.get('TMPDIR')}")
        server.start()
        try:
            yield server
        finally:
            server.stop()
    # The timings, also when pytest captures the output (make test's run): as capsys.disabled().
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print()
        for name, secs in _TIMES.items():
            say(f"time: {name} {secs:.1f} s")


@pytest.fixture(scope="module")
def driver(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    # The driver's path is given, so selenium does not run Selenium Manager (no download).
    service = Service(executable_path=shutil.which("chromedriver") or "chromedriver",
                      log_output=str(lab.log_path.with_name("chromedriver.log")))
    browser = webdriver.Chrome(options=options, service=service)
    browser.set_script_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@contextlib.contextmanager
def notebook(driver: Any, lab: Lab, name: str) -> Iterator[Page]:
    """Opens `name`; on failure keeps what the page showed; ends its kernel afterwards."""
    page = Page(driver, lab, name)
    try:
        page.open()
        yield page
    except BaseException:
        page.keep("failed")
        with contextlib.suppress(Exception):  # the test's own failure is the one to report
            lab.shutdown_kernels()
        raise
    lab.shutdown_kernels()


def test_run_all_renders_chart_image_and_table(lab: Lab, driver: Any) -> None:
    name = outputs_notebook(lab.root)
    with notebook(driver, lab, name) as page:
        t0 = time.monotonic()
        page.run_all()
        state = page.wait_done(FIRST_RUN)
        _TIMES["outputs notebook, Run All (first, compiles the crates)"] = time.monotonic() - t0
        say(f"{name}: Run All done in {time.monotonic() - t0:.1f} s")

        assert errors(state) == [], errors(state)
        code = [c for c in state["cells"] if c["type"] == "code"]
        assert all(isinstance(c["count"], int) and re.fullmatch(r"\[\d+\]:", c["prompt"]) for c in code), \
            [(c["count"], c["prompt"]) for c in code]
        assert any(o["output_type"] == "stream" and o["name"] == "stderr" for o in code[-1]["outputs"]), code[-1]

        shown = page.rendered()
        say(f"rendered: {len(shown['svg'])} svg, {len(shown['png'])} png, {len(shown['tables'])} tables")
        charts = [s for s in shown["svg"] if s["size"][0] >= 200 and s["size"][1] >= 100]
        assert charts, shown["svg"]
        assert any("ReLU(z) = max(0, z)" in s["texts"] for s in charts), charts
        assert any(p["complete"] and p["natural"] == [224, 224] and p["size"][0] > 0 for p in shown["png"]), shown["png"]
        assert ["층", "출력 모양", "Conv2D", "(28, 28, 8)", "GlobalAvgPool2D", "(8,)"] in [t["cells"] for t in shown["tables"]]
        assert shown["error_mime"] == 0


def test_a_compile_error_is_seen_as_an_error(lab: Lab, driver: Any) -> None:
    name = compile_error_notebook(lab.root)
    with notebook(driver, lab, name) as page:
        t0 = time.monotonic()
        page.run_all()
        state = page.wait_done(RUN)
        _TIMES["compile-error notebook, Run All"] = time.monotonic() - t0
        found = errors(state)
        say(f"{name}: {found}")
        assert len(found) == 1 and found[0].startswith("cell 1 "), found
        assert "application/vnd.jupyter.stderr" in found[0]
        assert "mismatched types" in cell_text(state["cells"][1])


def test_errors_ignores_stderr_but_not_error_outputs() -> None:
    """The checking function on states shaped like STATE_JS's, without a browser."""
    def cell(*outputs: tuple[str, str]) -> dict[str, Any]:
        outs = [{"output_type": t, "name": "stderr" if t == "stream" else None, "mimes": [], "text": x} for t, x in outputs]
        shown = [{"mime": "application/vnd.jupyter.stderr", "text": x} for _, x in outputs]
        return {"type": "code", "count": 1, "prompt": "[1]:", "outputs": outs, "rendered": shown}

    warning = {"cells": [{"type": "markdown"}, cell(("stream", "warning: slow"))]}
    assert errors(warning) == []
    broken = {"cells": [cell(("stream", "x")), cell(("error", "\x1b[31m[E0308] Error:\x1b[0m mismatched types"))]}
    assert errors(broken) == ["cell 1 ([1]:): error output, rendered as application/vnd.jupyter.stderr: "
                              "[E0308] Error: mismatched types"]


def epoch_lines(text: str) -> list[int]:
    """The numbers k of the lines `Epoch k/EPOCHS ...` in a training cell's output."""
    return [int(k) for k in re.findall(rf"^Epoch (\d+)/{EPOCHS}\b", text, re.M)]


def test_interrupted_training_resumes(lab: Lab, driver: Any, tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    name = resume_notebook(lab.root, checkpoints)
    train = 2  # the training cell
    with notebook(driver, lab, name) as page:
        t0 = time.monotonic()
        page.run_all()
        wait_for("the training's second epoch", FIRST_RUN,
                 lambda: 2 in epoch_lines(cell_text(page.state()["cells"][train])), every=0.5)
        say(f"{name}: epoch 2 done {time.monotonic() - t0:.1f} s after Run All; pressing the stop button")
        t1 = time.monotonic()
        page.toolbar("interrupt")
        try:
            state = page.wait_done(STOP)
            how = "interrupt"
        except AssertionError:
            # The kernel did not stop the cell: restart it, through the Kernel menu.
            page.keep("not-stopped")
            page.menu("Kernel", "kernelmenu:restart")
            accept = wait_for("the restart dialog", 10, lambda: next(iter(driver.find_elements(
                "css selector", ".jp-Dialog .jp-mod-accept")), None), every=0.2)
            accept.click()
            state = page.wait_done(STOP)
            how = "restart"
        _TIMES[f"training cell stopped ({how})"] = time.monotonic() - t1
        first = cell_text(state["cells"][train])
        done = epoch_lines(first)
        say(f"{name}: stopped by {how} in {time.monotonic() - t1:.1f} s after epochs {done}; "
            f"errors shown: {errors(state)}")
        assert done and max(done) < EPOCHS, f"the cell was not stopped before its end: {done}"
        saved = sorted(p.name for p in checkpoints.glob("*"))
        assert saved, "no checkpoint was written"

        t2 = time.monotonic()
        page.run_all()
        state = page.wait_done(RUN)
        _TIMES["resumed training, Run All"] = time.monotonic() - t2
        again = cell_text(state["cells"][train])
        say(f"{name}: resumed run done in {time.monotonic() - t2:.1f} s: "
            f"{[line for line in again.splitlines() if 'Resuming' in line or line.startswith('Epoch')]}")
        assert errors(state) == [], errors(state)
        assert "Resuming" in again and "이어서" in again, again[-3000:]
        lines = epoch_lines(again)
        assert lines and lines[0] > 2 and lines[-1] == EPOCHS, lines
        assert lines == list(range(lines[0], EPOCHS + 1)), lines
        assert again.rstrip().endswith(str(EPOCHS)), again[-500:]  # the cell's value: all epochs in the history
