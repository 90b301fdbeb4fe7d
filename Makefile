# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv and installs what it needs on first use (and when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= sqlite:///signoff.db

.PHONY: run test lint types unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	SIGNOFF_DATABASE_URL=$(DEMO_DB) $(BIN)/signoff init
	SIGNOFF_DATABASE_URL=$(DEMO_DB) $(BIN)/signoff import config/examples/southend_iawg_scr_audit_2010.yaml config/examples/southend_contacts.yaml
	SIGNOFF_DATABASE_URL=$(DEMO_DB) $(BIN)/signoff list

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint types unit

bench: $(STAMP)
	$(BIN)/python bench/transitions.py

clean:
	rm -rf $(VENV) signoff.db signoff.db-wal signoff.db-shm signoff-data .pytest_cache .mypy_cache .hypothesis
