"""`python -m cnnkit_notebooks` is `cnnkit-run`."""

import sys

from .cli import main

sys.exit(main())
