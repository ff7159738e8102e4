"""Repository checks: notebooks committed without outputs, and one set of Python pins."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cnnkit_notebooks.paths import ROOT

# The output check as `make check-clean` runs it: from the source tree, with the standard
# library only (-S: no site-packages, so no nbformat and no installed copy of the package).
CHECK = ["-S", "-m", "cnnkit_notebooks.clean"]
CLEAN_ENV = {"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"}


def pins_of(lines):
    pins = {}
    for line in lines:
        m = re.match(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_environment_yml_has_the_pins_of_requirements_txt():
    req = pins_of((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    env_lines = (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()
    # Only the lines of the `- pip:` list.
    start = next(i for i, line in enumerate(env_lines) if re.match(r"^\s*-\s*pip:\s*$", line))
    env = pins_of(env_lines[start + 1 :])
    assert req, "requirements.txt has no pins"
    assert env == req


def test_installed_versions_match_the_pins():
    from importlib import metadata

    req = pins_of((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    have = {name: metadata.version(name) for name in req}
    assert have == req, "run `make setup`"


def test_committed_notebooks_have_no_outputs():
    for folder in (ROOT / "notebooks", ROOT / "tools" / "tests" / "notebooks"):
        proc = subprocess.run([sys.executable, *CHECK, str(folder)], capture_output=True, text=True, env=CLEAN_ENV)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_clean_finds_and_strips_outputs(tmp_path):
    src = ROOT / "tools" / "tests" / "notebooks" / "good.ipynb"
    nb = json.loads(src.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[0]["execution_count"] = 3
    code[1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x = 4\n"]}]
    code[2]["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    proc = subprocess.run([sys.executable, *CHECK, str(tmp_path)], capture_output=True, text=True, env=CLEAN_ENV)
    assert proc.returncode == 1
    assert "dirty.ipynb: has outputs" in proc.stdout
    assert "cell 1: execution_count 3" in proc.stdout

    proc = subprocess.run([sys.executable, *CHECK, "--strip", str(tmp_path)], capture_output=True, text=True, env=CLEAN_ENV)
    assert proc.returncode == 0
    assert json.loads(dirty.read_text(encoding="utf-8")) == json.loads(src.read_text(encoding="utf-8"))
    proc = subprocess.run([sys.executable, *CHECK, str(tmp_path)], capture_output=True, text=True, env=CLEAN_ENV)
    assert proc.returncode == 0


def test_committed_notebooks_use_only_tags_the_runner_knows():
    """A misspelt tag (`expect_error`, `allow_stderr`) would silently mean nothing."""
    from cnnkit_notebooks.rules import TAG_TIMEOUT, TAGS

    unknown = []
    for folder in (ROOT / "notebooks", ROOT / "tools" / "tests" / "notebooks"):
        for path in sorted(folder.rglob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            for i, cell in enumerate(nb["cells"]):
                for tag in cell.get("metadata", {}).get("tags", []):
                    if tag not in TAGS and not TAG_TIMEOUT.match(tag):
                        unknown.append(f"{path.relative_to(ROOT)} cell {i}: {tag}")
    assert not unknown, unknown


def test_no_file_edits_sys_path():
    """The tools are one installed package: nothing pushes folders onto sys.path."""
    needles = ["sys.path." + verb for verb in ("insert", "append", "extend")]
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    files += [str(p.relative_to(ROOT)) for p in (ROOT / "tools").rglob("*.py")]  # also files not committed yet
    hits = []
    for name in sorted(set(files)):
        path = ROOT / name
        if path.suffix not in (".py", ".md", ".sh", ".toml", ".ipynb", ".txt", ".yml") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{name}: {n}" for n in needles if n in text]
    assert not hits, hits


def test_pyproject_depends_on_the_packages_requirements_txt_pins():
    req = pins_of((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    text = (ROOT / "tools" / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)\]", text, re.M | re.S).group(1)
    deps = {name.lower().replace("_", "-") for name in re.findall(r'"([A-Za-z0-9_.\-]+)"', block)}
    assert deps == set(req), "tools/pyproject.toml's dependencies and requirements.txt name different packages"


def test_console_scripts_are_installed_beside_this_python():
    from importlib import metadata

    scripts = {e.name for e in metadata.distribution("cnnkit-notebooks").entry_points if e.group == "console_scripts"}
    assert scripts == {"cnnkit-run", "cnnkit-lab", "cnnkit-student", "cnnkit-clean"}
    bin_dir = Path(sys.executable).parent
    assert all((bin_dir / s).exists() for s in scripts), "run `make setup`"
    plugins = {e.value for e in metadata.distribution("cnnkit-notebooks").entry_points if e.group == "pytest11"}
    assert plugins == {"cnnkit_notebooks.pytest_plugin"}
