# The two commands: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit integration contract e2e bench clean

$(STAMP): requirements-dev.txt layers/billing/requirements.txt functions/api/requirements.txt pyproject.toml layers/billing/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e layers/billing -e .
	touch $(STAMP)

## Start the whole platform on the embedded defaults (Ctrl-C stops it).
run: $(STAMP)
	$(BIN)/billing up

## Lint, type-check and run every test tier.
test: $(STAMP) lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Every benchmark; stdout carries only `name: value` lines (hence no echo of the command).
bench: $(STAMP)
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
