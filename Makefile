# The two commands: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
# The Lambda runtime's Python (template.yaml: python3.13). The venvs, so every test, use the
# same minor version. PYTHON is the first interpreter that really runs it: `python3.13` on PATH,
# then pyenv's builds (a pyenv shim of a version that is not selected is on PATH but fails to
# run, so each candidate is run once). `make PYTHON=/path/to/python3.13` overrides the search.
PYTHON_VERSION := 3.13
IS_VERSION := -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(PYTHON_VERSION)")'
PYENV_VERSIONS := $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions
PYTHON ?= $(shell for p in python$(PYTHON_VERSION) $(wildcard $(PYENV_VERSIONS)/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION)); \
	do "$$p" $(IS_VERSION) 2>/dev/null && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# aws-sam-cli pins boto3, so it gets a venv of its own (`sam build` in tests/contract).
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: run test lint typecheck unit integration contract e2e bench clean chromium

# Creates $(1) with Python $(PYTHON_VERSION), or recreates it when it runs another version.
# Installs say what they do on stderr: stdout stays the commands' own (`make bench` prints
# only its figures there).
define venv
	@echo "installing into $(1) ..." >&2
	@$(1)/bin/python $(IS_VERSION) 2>/dev/null || { \
		test -n "$(PYTHON)" || { echo "error: no Python $(PYTHON_VERSION) found (python$(PYTHON_VERSION) on PATH or pyenv); install it, e.g. 'pyenv install $(PYTHON_VERSION)', or run make PYTHON=/path/to/python$(PYTHON_VERSION)" >&2; exit 1; }; \
		rm -rf $(1) && echo "$(PYTHON) -m venv $(1)" >&2 && $(PYTHON) -m venv $(1); }
	@$(1)/bin/pip install --quiet --upgrade "pip<26.3" >&2  # chalice, which packages with pip, asks for < 26.3
endef

$(STAMP): requirements-dev.txt layers/billing/requirements.txt functions/api/requirements.txt pyproject.toml layers/billing/pyproject.toml Makefile
	$(call venv,$(VENV))
	@$(BIN)/pip install --quiet -r requirements-dev.txt >&2
	@$(BIN)/pip install --quiet --no-deps -e layers/billing -e . >&2
	@$(MAKE) --no-print-directory chromium
	@touch $(STAMP)

# The pages' e2e tests drive Debian's chromium through playwright (never `playwright install`,
# which downloads a browser build). Installed with apt where it is missing and apt can run;
# elsewhere those tests say they were skipped for want of it.
chromium:
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ echo "installing chromium (apt) ..." >&2; apt-get update -qq >&2 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; } || \
		echo "warning: chromium is not installed; the browser tests will be skipped" >&2; }

$(SAM_STAMP): requirements-sam.txt Makefile
	$(call venv,$(SAM_VENV))
	@$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt >&2
	@touch $(SAM_STAMP)

## Start the whole platform on the embedded defaults (Ctrl-C stops it).
run: $(STAMP)
	$(BIN)/billing up

## Lint, type-check and run every test tier (the contract tier runs `sam build`).
test: $(STAMP) $(SAM_STAMP) lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup -q --cov --cov-report=

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Every benchmark; stdout carries only `name: value` lines (hence no echo of the command).
bench: $(STAMP)
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(SAM_VENV) .pytest_cache .mypy_cache .ruff_cache
