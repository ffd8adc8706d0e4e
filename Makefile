# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# The app builds PUBLIC_URL from PORT unless TELETHERAPY_PUBLIC_URL is set.
export PORT
export FLASK_APP := wsgi

.PHONY: run test lint format venv dev-venv clean bench bench-at-size load screenshots messages language topology topology-down

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes.
$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.stamp-run

venv: $(VENV)/.stamp-run
dev-venv: $(VENV)/.stamp-dev

run: venv
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo --if-empty
	@echo ""
	@echo "  Teletherapy is at http://127.0.0.1:$(PORT)"
	@echo "  Demo sign-ins (password demo-pass-123):"
	@echo "    client1@demo.test     (a client in New York City)"
	@echo "    therapist1@demo.test  (a therapist licensed in NY and NJ)"
	@echo "    admin@demo.test       (an administrator)"
	@echo ""
	TELETHERAPY_RUN_DISPATCHER=true $(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT) --no-reload

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# import-linter always colours its report; print it plain, keep its exit status
	@out=$$($(BIN)/lint-imports 2>&1); status=$$?; printf '%s\n' "$$out" | sed 's/\x1b\[[0-9;]*m//g'; exit $$status

format: dev-venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest -n auto --dist loadfile --cov --cov-report=term --cov-fail-under=90 --durations=15 $(PYTEST_ARGS)

# The main pages for each role at 1280 px and 390 px, into docs/screenshots/ (Chromium, demo
# data); the same run checks phone widths, axe-core and the console.
screenshots: dev-venv
	rm -rf docs/screenshots && mkdir -p docs/screenshots
	SCREENSHOTS_DIR=docs/screenshots PYTHONPATH=platform $(BIN)/python -m pytest tests/web/test_every_page_browser.py -q -p no:cacheprovider

# Catalogs: extract every marked string into messages.pot, then update each language's .po
# (translate the new entries; the .po files are compiled when the app starts).
TRANSLATIONS := platform/teletherapy/translations
BABEL_KEYWORDS := -k _l -k N_ -k Text -k lazy_gettext -k lazy_ngettext:1,2 -k npgettext:1c,2,3
messages: dev-venv
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output \
		--project Teletherapy --msgid-bugs-address i18n@teletherapy.test \
		--ignore-dirs ".* __pycache__" -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
		--no-fuzzy-matching --ignore-obsolete --width 100

# A new language: `make language LANG_CODE=fr`, translate its .po, add the code to LANGUAGES.
language: dev-venv
	$(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $(LANG_CODE)

# The production topology on loopback without Docker (deploy/topology.py): PostgreSQL and a
# streaming replica, Redis, an SMTP sink, two gunicorn nodes (8101, 8102), two dispatchers.
# Runs in the foreground until Ctrl-C; `make topology-down` stops one left running.
TOPOLOGY_DIR ?= .topology
topology: dev-venv
	$(BIN)/python deploy/topology.py up --dir $(TOPOLOGY_DIR) --foreground $(TOPOLOGY_ARGS)

topology-down:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) deploy/topology.py down --dir $(TOPOLOGY_DIR)

bench: dev-venv
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# Issue 14's table at national size: seeds 100,000 therapists and 1,000,000 sessions into
# PostgreSQL (127.0.0.1:5432, database tt_at_size; once), then runs every row's benchmark
# on it. AT_SIZE_ARGS="--cold" adds bookings with cold workers, "--reseed" seeds again.
AT_SIZE_ARGS ?=
bench-at-size: dev-venv
	$(BIN)/python benchmarks/at_size.py $(AT_SIZE_ARGS)

# Issue 14's load run: the locust mix (benchmarks/load/locustfile.py) against the production
# topology on loopback (deploy/topology.py), bounded in time; prints per-endpoint figures,
# errors and double bookings. LOAD_ARGS="--no-topology" runs it against one local gunicorn
# (PostgreSQL on 127.0.0.1:5432), "--size large" at 100,000 therapists, "--duration 60".
LOAD_ARGS ?=
load: dev-venv
	$(BIN)/python benchmarks/load/run.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
