# JPS Flow: `make run` starts the whole local stack, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run migrate test lint typecheck pytest fuzz bench chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/jps dev

migrate: install
	$(BIN)/jps migrate

# ruff, then the layers: an import that runs upward fails here (contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

# The console's browser test drives Debian's Chromium; installed once, quietly (Playwright downloads none).
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# pytest exits non-zero on any failure and with 5 when it collects no test: both fail `make test`.
pytest: install chromium
	$(BIN)/pytest

test: lint typecheck pytest

# Schemathesis over every operation of the OpenAPI document against the real stack, with a bigger budget
# than `make test`'s (tests/api/test_fuzz.py): no 5xx, every answer as declared. FUZZ_EXAMPLES per operation.
FUZZ_EXAMPLES ?= 100
fuzz: install
	JPS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/api/test_fuzz.py -s

bench: install chromium
	$(BIN)/jps bench

# 300 groups on a stack of its own while the bank, the SMS gateway, PostgreSQL, Temporal and the worker
# fail (README, "Reliability"); fails unless every group is paid exactly once and nothing is stuck.
chaos: install
	$(BIN)/jps chaos

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
