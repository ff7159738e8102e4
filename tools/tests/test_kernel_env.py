"""The kernels' build settings: tools/evcxr/cargo-config.toml must reach cargo for every
kernel the runner starts and must override evcxr's profile for dependencies only.

The cargo test builds a crate laid out like evcxr's (its manifest is evcxr 0.22's profile)
below a folder where the runner installed the settings, and reads the rustc flags."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cnnkit_notebooks import kernel_env
from cnnkit_notebooks.paths import CARGO_PROFILE

EVCXR_MANIFEST = """
[package]
name = "ctx"
version = "1.0.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[profile.dev]
opt-level = 2
debug = false
debug-assertions = true
codegen-units = 16
incremental = true
overflow-checks = true

[dependencies]
dep = { path = "../../dep" }
"""


def test_install_is_idempotent_and_atomic(tmp_path):
    kernel_env.install_cargo_profile(tmp_path)
    target = tmp_path / ".cargo" / "config.toml"
    assert target.read_text() == CARGO_PROFILE.read_text()
    mtime = target.stat().st_mtime_ns
    kernel_env.install_cargo_profile(tmp_path)
    assert target.stat().st_mtime_ns == mtime, "an unchanged file must not be rewritten"
    target.write_text("stale")
    kernel_env.install_cargo_profile(tmp_path)
    assert target.read_text() == CARGO_PROFILE.read_text()
    assert not list(target.parent.glob("*.tmp"))


def test_every_kernel_builds_below_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NBRUN_EVCXR_DIR", str(tmp_path))
    with kernel_env.evcxr_tmpdir(True) as fixed:
        env = kernel_env.kernel_env(False, fixed, True)
    assert Path(env["EVCXR_TMPDIR"]).parent == tmp_path
    # Without a fixed folder evcxr makes its own below TMPDIR, which must be below the base too.
    env = kernel_env.kernel_env(False, None, True)
    assert "EVCXR_TMPDIR" not in env
    assert Path(env["TMPDIR"]).is_relative_to(tmp_path)
    assert (tmp_path / ".cargo" / "config.toml").is_file()


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_cargo_gives_dependencies_release_settings_and_keeps_cell_checks(tmp_path):
    kernel_env.install_cargo_profile(tmp_path)
    dep = tmp_path / "dep"
    (dep / "src").mkdir(parents=True)
    (dep / "Cargo.toml").write_text('[package]\nname = "dep"\nversion = "0.1.0"\nedition = "2021"\n')
    (dep / "src" / "lib.rs").write_text("pub fn f() -> u8 { 1 }\n")
    cell = tmp_path / "evcxr-0" / "ctx"
    (cell / "src").mkdir(parents=True)
    (cell / "Cargo.toml").write_text(EVCXR_MANIFEST)
    (cell / "src" / "lib.rs").write_text("pub fn g() -> u8 { dep::f() }\n")
    out = subprocess.run(
        ["cargo", "build", "-v", "--offline"],
        cwd=cell,
        capture_output=True,
        text=True,
        env={**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")},
    )
    assert out.returncode == 0, out.stderr
    flags = {}
    for line in out.stderr.splitlines():
        m = re.search(r"--crate-name (\w+)", line)
        if m and "Running" in line:
            flags[m.group(1)] = line
    assert "opt-level=3" in flags["dep"]
    assert "debug-assertions=on" not in flags["dep"]
    assert "overflow-checks=on" not in flags["dep"]
    # The cell crate keeps evcxr's profile.
    assert "opt-level=2" in flags["ctx"]
    assert "debug-assertions=on" in flags["ctx"]


def test_a_kernel_crate_below_build_is_not_taken_for_a_workspace_member():
    """scripts/test.py gives the self-tests' kernels build folders below build/test/ (in the
    repository): cargo must not see their crates as strays of the workspace, or every
    kernel dies at start ("current package believes it's in a workspace when it's not").
    The workspace's `exclude = ["build"]` keeps them out."""
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    root = Path(__file__).resolve().parents[2]
    crate = root / "build" / "test" / "selftest-workspace-probe" / "evcxr-0"
    shutil.rmtree(crate.parent, ignore_errors=True)
    try:
        (crate / "src").mkdir(parents=True)
        (crate / "src" / "lib.rs").write_text("")
        (crate / "Cargo.toml").write_text(EVCXR_MANIFEST.replace('dep = { path = "../../dep" }', ""))
        proc = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
                              cwd=crate, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    finally:
        shutil.rmtree(crate.parent, ignore_errors=True)
