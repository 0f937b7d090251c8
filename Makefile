# Leadline: the two commands of the README.
#   make run   install Leadline and start it on SQLite with demo data (http://127.0.0.1:8000)
#   make test  install what the tests need and run the whole suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install install-dev pdf-support serve-demo lint typecheck services clean

run: install pdf-support serve-demo

serve-demo:
	$(BIN)/leadline init
	$(BIN)/leadline demo --if-empty
	$(BIN)/leadline serve

test: install-dev services lint typecheck
	@# Leadline's own modules byte-compiled, as an installed package's are: the suite starts
	@# `leadline` as a process hundreds of times, and under PYTHONDONTWRITEBYTECODE each would compile its modules again.
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25 $(PYTEST_ARGS)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Leadline needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

services:
	scripts/test-services

# Pango for the proposals' PDFs (WeasyPrint); without it Leadline runs, and a proposal's PDF (so its
# acceptance) answers 503 naming what is missing.
pdf-support:
	-scripts/pdf-support

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
