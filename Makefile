# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck jscheck check demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)  ## run the server on ./fieldsync.db (SQLite) at http://127.0.0.1:8765
	$(BIN)/fieldsync serve

demo: $(STAMP)
	$(BIN)/fieldsync demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy

# The field app's JavaScript: its development tools come from package-lock.json.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

jscheck: $(NODE_STAMP)  ## type-check and lint the field app (and run its unit tests)
	npx tsc -p jsconfig.json
	npx eslint src/fieldsync/app
	if [ -d tests/js ]; then node --test tests/js/; fi

test: lint typecheck jscheck  ## lint, type-check, then the whole test suite
	$(BIN)/python -m pytest

clean:
	rm -rf node_modules $(VENV) .mypy_cache .ruff_cache .pytest_cache
