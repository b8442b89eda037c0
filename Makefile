# speechsite: `make run` serves the app, `make test` runs every test, `make bench` measures.
# Each target installs what it needs first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
APT_GET := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)

.PHONY: run test lint bench fixtures clean chromium espeak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

# Debian's chromium for the browser tests (Playwright's own browser download cannot work here).
chromium:
	@command -v chromium >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium >/dev/null; }

# espeak-ng pronounces words missing from the dictionary (the tests cover it and the fallback rules).
espeak:
	@command -v espeak-ng >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq espeak-ng >/dev/null; }

run: $(VENV)/.run-deps
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py interrupt_stale
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	@echo "Open http://$(HOST):$(PORT)/ and sign in with an account above."
	DEBUG=$${DEBUG:-1} $(BIN)/daphne -b $(HOST) -p $(PORT) speechsite.asgi:application

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .

test: $(VENV)/.test-deps chromium espeak lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.test-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# Regenerate the committed test audio (needs flite and sox).
fixtures:
	@command -v flite >/dev/null && command -v sox >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq flite sox >/dev/null; }
	bash scripts/make_fixtures.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
