"""The Python tools around the chapter 14 Rust notebooks (kernel `rust`, evcxr_jupyter 0.22).

    cnnkit-run       run notebooks headlessly and fail loudly (`make run`; module cli)
    cnnkit-lab       JupyterLab with the runner's kernel settings (`make lab`; module lab)
    cnnkit-student   student notebooks: build, validate, check, grade (`make student`; module student)
    cnnkit-clean     notebooks without outputs: check or strip (`make check-clean`, `make strip`)
    pytest --nbrun   each notebook one pytest item (module pytest_plugin)

The one run API, shared by all of them: `run.NotebookRun(path, ...).execute()` returns a
`run.NotebookResult`; why a notebook failed is a `rules.Reason`.

The package belongs to this repository (it reads tools/evcxr/ and notebooks/ beside it):
`make setup` installs it into .venv in editable mode. This module imports nothing, so that
`cnnkit_notebooks.clean` runs with a bare python3 (standard library only).
"""

__version__ = "0.2.0"
