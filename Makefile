# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench bench-api bench-intake bench-lifecycle bench-reports bench-kills bench-audit bench-web bench-kpis bench-strategy clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	bash scripts/system-libs.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/arrears run

$(VENV)/.browser: $(STAMP)
	bash scripts/system-libs.sh browser
	touch $(VENV)/.browser

test: $(STAMP) $(VENV)/.browser
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: bench-intake bench-lifecycle bench-api bench-web bench-reports bench-kills bench-audit bench-kpis bench-strategy

bench-intake: $(STAMP)
	$(BIN)/python -m bench.intake

bench-lifecycle: $(STAMP)
	$(BIN)/python -m bench.lifecycle

bench-api: $(STAMP)
	$(BIN)/python -m bench.api

bench-web: $(STAMP)
	$(BIN)/python -m bench.web

bench-reports: $(STAMP)
	$(BIN)/python -m bench.reports

bench-audit: $(STAMP)
	$(BIN)/python -m bench.audit

bench-kills: $(STAMP)
	$(BIN)/python -m bench.worker_kills

bench-kpis: $(STAMP)
	$(BIN)/python -m bench.kpis

bench-strategy: $(STAMP)
	$(BIN)/python -m bench.strategy

clean:
	rm -rf $(VENV) .arrears .pytest_cache .mypy_cache .ruff_cache
