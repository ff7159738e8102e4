# Chapter 14 (CNN) notebooks in Rust: set-up, headless runs, tests, JupyterLab.
#
#   make setup     venv with pinned Jupyter, evcxr_jupyter 0.22.0, kernel `rust`, MathJax, data
#   make run       set up what is missing, run every notebook (full settings) -> build/index.html
#                  QUICK=1 make run   runs them in quick mode (CNNKIT_QUICK=1)
#                  make run NB=notebooks/01_x.ipynb   runs only the named notebook(s)
#   make test      cargo test, runner self-tests, every notebook in quick mode; ends with
#                  one line "N passed, N failed" for all of them
#   make lab       JupyterLab on notebooks/
#   make strip     remove outputs from notebooks/*.ipynb (they are committed without outputs)
#   make check-clean   fail if a notebook has outputs
#   make bench     cargo run --release -p cnnkit --example bench
#   make bench-evcxr   the same benchmark built as notebook cells' dependencies are
#   make student   student notebooks (no solutions, no outputs) from notebooks/exercises -> build/student
#   make clean     remove build/          make clean-cache   remove the shared evcxr caches

SHELL := /bin/bash
PY := .venv/bin/python
# The commands of the package in tools/ (cnnkit_notebooks), installed into .venv by setup.
BIN := .venv/bin
# The output check needs no venv: the standard library runs it from the source tree.
CLEAN := PYTHONPATH=tools python3 -m cnnkit_notebooks.clean
NB ?=
# Extra arguments for the runner, e.g. make run RUN_ARGS="--timeout 7200"
RUN_ARGS ?=
EVCXR_CACHE_DIRS := $${XDG_CACHE_HOME:-$$HOME/.cache}/cnnkit-notebooks $${XDG_CACHE_HOME:-$$HOME/.cache}/evcxr

.PHONY: help setup run test lab strip check-clean bench bench-evcxr student clean clean-cache

help:
	@sed -n '3,16p' Makefile | sed 's/^# \{0,1\}//'

setup:
	@bash scripts/setup.sh

run: setup
	@$(BIN)/cnnkit-run $(if $(filter-out 0,$(QUICK)),--quick) $(RUN_ARGS) $(NB)

test: setup
	@$(PY) scripts/test.py

lab: setup
	@$(if $(filter-out 0,$(QUICK)),CNNKIT_QUICK=1) $(BIN)/cnnkit-lab $(LAB_ARGS)

strip:
	@$(CLEAN) --strip

check-clean:
	@$(CLEAN)

bench:
	cargo run --release -p cnnkit --example bench

bench-evcxr:
	cargo run --profile evcxr-tuned -p cnnkit --example bench

# make bench-anchors [ANCHOR_STEPS=1000] [ANCHOR_RUNS=1]: our bench, then the lecture's CNN and
# the small ResNet in PyTorch and in Keras/TensorFlow (scripts/anchor_bench.py), one after the
# other so the ratios come from one session; ANCHOR_RUNS=3 repeats the whole round three times
# (interleaved, so that a slow minute of a shared machine hits every framework alike; take the
# best of each). The frameworks (several GB, pinned in scripts/anchor-requirements.txt) go
# into their own venv .venv-anchors, created on first use. See docs/performance.md.
.PHONY: bench-anchors
bench-anchors:
	@test -x .venv-anchors/bin/python || python3 -m venv .venv-anchors
	@.venv-anchors/bin/python -m pip install --disable-pip-version-check -q -r scripts/anchor-requirements.txt
	@cargo build --release -q -p cnnkit --example bench
	@echo "bench-anchors: $$(date '+%Y-%m-%d %H:%M'), commit $$(git rev-parse --short HEAD 2>/dev/null), $$(nproc) cores"
	@for run in $$(seq $(or $(ANCHOR_RUNS),1)); do \
	  echo "== round $$run: $$(date '+%H:%M:%S') =="; \
	  target/release/examples/bench --steps $(or $(ANCHOR_STEPS),1000) || exit 1; \
	  for model in lecture_cnn small_resnet; do \
	    for fw in torch keras; do \
	      .venv-anchors/bin/python scripts/anchor_bench.py $$fw $(or $(ANCHOR_STEPS),1000) 32 \
	        --model $$model --predict-runs 3 || exit 1; \
	    done; \
	  done; \
	done

# make param-counts: total / trainable / non-trainable parameters of the chapter's architectures
# (VGG16, Xception, ResNet-34, LeNet-5, AlexNet, GoogLeNet, an SE-ResNet unit, the small ResNet),
# built with Keras 3 in .venv-anchors without weights (scripts/keras_param_counts.py, docs/architectures.md).
.PHONY: param-counts
param-counts:
	@test -x .venv-anchors/bin/python || python3 -m venv .venv-anchors
	@.venv-anchors/bin/python -m pip install --disable-pip-version-check -q -r scripts/anchor-requirements.txt
	.venv-anchors/bin/python scripts/keras_param_counts.py

student: setup
	@$(BIN)/cnnkit-student build notebooks/exercises -o build/student

clean:
	rm -rf build

clean-cache:
	rm -rf $(EVCXR_CACHE_DIRS)
