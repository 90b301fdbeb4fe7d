# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv and installs what it needs on first use (and when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# GOV.UK Frontend (CSS, JS, fonts, images) for the web app, from web/package-lock.json
ASSETS := web/node_modules/.installed-stamp
DEMO_DB ?= sqlite:///signoff.db
# The browser the page tests drive (Playwright, never a downloaded browser): Debian's Chromium
CHROMIUM := /usr/bin/chromium
# Installs Debian packages (as root), reading the package lists first when they are missing or stale
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -q
APT = { $(APT_INSTALL) $(1) >/dev/null 2>&1 || { apt-get update -q >/dev/null && $(APT_INSTALL) $(1) >/dev/null; }; }

.PHONY: run test lint types unit bench clean browser pdf-libs graphviz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(ASSETS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	touch $(ASSETS)

# Installs Debian's chromium when it is missing and apt-get can (as root); otherwise says how.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    $(call APT,chromium); \
	  else \
	    echo "no $(CHROMIUM): install Debian's chromium (apt-get install chromium) for the page tests"; \
	  fi; }

# Report PDFs: WeasyPrint needs Pango and a font; the tests read PDFs with poppler-utils.
pdf-libs:
	@command -v pdftoppm >/dev/null && ldconfig -p | grep -q libpangoft2 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    $(call APT,libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils); \
	  else \
	    echo "for report PDFs: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils"; \
	  fi; }

# Workflow diagrams (/admin/workflows): Graphviz's dot lays them out (the graphviz package drives it).
graphviz:
	@command -v dot >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    $(call APT,graphviz); \
	  else \
	    echo "for workflow diagrams: apt-get install graphviz"; \
	  fi; }

# The demo: SQLite, the example plan and an invented plan of partner agencies' actions, a local mail catcher (port 1025, messages kept in
# signoff-data/mail/), office hours all day so the chasing is visible at once.
DEMO_ENV = SIGNOFF_DATABASE_URL=$(DEMO_DB) SIGNOFF_SMTP_HOST=127.0.0.1 SIGNOFF_SMTP_PORT=1025 \
	SIGNOFF_OFFICE_START=00:00 SIGNOFF_OFFICE_END=23:59:59

run: $(STAMP) $(ASSETS) graphviz
	$(DEMO_ENV) $(BIN)/signoff init
	$(DEMO_ENV) $(BIN)/signoff demo --plan config/examples/southend_iawg_scr_audit_2010.yaml --plan config/examples/demo_partner_actions.yaml --contacts config/examples/southend_contacts.yaml --rebase-dates-to today
	$(DEMO_ENV) $(BIN)/signoff list
	$(DEMO_ENV) $(BIN)/signoff serve --mail-catcher --sweep-every 60 --dispatch-every 10

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

# the tests run on every core (pytest-xdist): each worker builds its own template databases
unit: $(STAMP) $(ASSETS) browser pdf-libs graphviz
	$(BIN)/pytest --numprocesses auto

test: lint types unit

bench: $(STAMP) $(ASSETS)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/fire.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/admin.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) web/node_modules signoff.db signoff.db-wal signoff.db-shm signoff-data .pytest_cache .mypy_cache .hypothesis
