"""Where things are in the repository this package lives in (it is installed editable)."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository: tools/cnnkit_notebooks/paths.py -> tools -> repository.
ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXERCISES = NOTEBOOKS / "exercises"
BUILD = ROOT / "build"
#: evcxr's config folder for every kernel (init.evcxr turns on `:cache`).
EVCXR_CONFIG_DIR = ROOT / "tools" / "evcxr"
#: Release settings for the cells' dependencies (copied below the kernels' build folders).
CARGO_PROFILE = EVCXR_CONFIG_DIR / "cargo-config.toml"
#: The local MathJax that `make setup` unpacks (npm's mathjax 2.7).
MATHJAX_SRC = ROOT / ".venv" / "share" / "mathjax"


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
