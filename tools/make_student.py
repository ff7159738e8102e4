"""The student tool under its old name, for commands written before the tools became the
package cnnkit_notebooks: `python tools/make_student.py ...` is `cnnkit-student ...`, old
flags included (no subcommand: build; --check: validate; --grade: grade --executed). This
script's folder is on sys.path when Python runs it, so the package is found without
installing it. `from make_student import configure_nbgrader` keeps working too.
"""

import sys

from cnnkit_notebooks.student import *  # noqa: F401,F403  (the old module's names)
from cnnkit_notebooks.student import configure_nbgrader, main  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
