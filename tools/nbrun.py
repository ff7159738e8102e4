"""The runner under its old name: `python tools/nbrun.py ...` is `cnnkit-run ...`.

Kept for commands written before the tools became the package cnnkit_notebooks (this
script's folder is on sys.path when Python runs it, so the package is found without
installing it).
"""

import sys

from cnnkit_notebooks.cli import main

if __name__ == "__main__":
    sys.exit(main())
