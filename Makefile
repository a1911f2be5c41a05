# make run / make test / make bench create .venv themselves on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# benchmarks/ may not exist yet, and ruff fails on a missing path
LINT_DIRS := $(wildcard src tests benchmarks)

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Builds the demo clinic (200 synthetic patients, seed 1, as of the day it is built) into bontrack.db
# when it has no patients, prints the registry summary and the demo logins, then serves the web app
# on 127.0.0.1:8000.
# `bontrack tour examples` walks through the example plans.
run: $(STAMP)
	$(BIN)/bontrack demo --if-empty --patients 200 --seed 1 --as-of today
	$(BIN)/bontrack user demo-logins
	@echo "Serving the demo clinic at http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(BIN)/bontrack serve --host 127.0.0.1 --port 8000

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard src tests benchmarks)
	$(BIN)/ruff format --check $(wildcard src tests benchmarks)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
