# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test test-tools lint typecheck jscheck check demo clean

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

# What the tests run besides Python: Debian's Chromium (the browser tests; never a
# downloaded browser), openssl (the TLS tests' certificates) and Node.js with npm (the
# field app's checks). Installed when missing and this user may (root with apt-get);
# otherwise one line says how.
CHROMIUM := $(or $(FIELDSYNC_TEST_CHROMIUM),/usr/bin/chromium)

test-tools:
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="chromium"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing \
	  || { apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; }; \
	else \
	  echo "The tests need:$$missing; install them: sudo apt-get install$$missing"; exit 1; \
	fi

# The field app's JavaScript: its development tools come from package-lock.json.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package-lock.json | test-tools
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

jscheck: $(NODE_STAMP)  ## type-check and lint the field app (and run its unit tests)
	npx tsc -p jsconfig.json
	npx eslint src/fieldsync/app
	if [ -d tests/js ]; then node --test tests/js/; fi

# The suite runs on as many workers as the machine has cores (pytest-xdist): much of a
# test's time is spent waiting on servers, browsers and child processes. Each worker has
# its own template databases, browser and free ports.
test: test-tools lint typecheck jscheck  ## lint, type-check, then the whole test suite
	$(BIN)/python -m pytest -n auto --dist worksteal

clean:
	rm -rf node_modules $(VENV) .mypy_cache .ruff_cache .pytest_cache
