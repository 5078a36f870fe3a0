# Things Portal. `make run` starts everything with embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
SIMULATOR_PORT ?= 8001

.PHONY: screenshots run test test-all lint typecheck pytest bench install clean

$(BIN)/python:
	@PY="$${PYTHON:-$$(scripts/find-python)}" || exit 1; \
	echo "Creating $(VENV) with $$PY"; \
	"$$PY" -m venv $(VENV)

# Again when pyproject.toml changes or a package is added: the editable install knows the
# top-level packages it was made with.
$(STAMP): pyproject.toml $(wildcard */__init__.py) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	@$(BIN)/python scripts/run.py --port $(PORT) --simulator-port $(SIMULATOR_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

# Also the slow tests (real processes: make run, a killed worker, gunicorn, a clean venv),
# which CI always runs.
test-all: export RUN_SLOW = 1
test-all: test

bench: install
	$(BIN)/python -m benchmarks

# The README's screenshots: the main pages at a laptop's and a phone's width, from the layout
# test (which also checks them: nothing wider than the screen, no serious axe finding).
screenshots: install
	RUN_SLOW=1 SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -p no:randomly -q tests/e2e/test_layout.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
