# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test test-tools lint typecheck check demo clean

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
# downloaded browser) and openssl (the TLS tests' certificates). Installed when missing
# and this user may (root with apt-get); otherwise one line says how.
CHROMIUM := $(or $(FIELDSYNC_TEST_CHROMIUM),/usr/bin/chromium)

test-tools:
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="chromium"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing \
	  || { apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; }; \
	else \
	  echo "The tests need:$$missing; install them: sudo apt-get install$$missing"; exit 1; \
	fi

test: lint typecheck test-tools  ## lint, type-check, then the whole test suite
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
