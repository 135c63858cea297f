# The two commands: `make run` and `make test`. Everything else is a helper they use.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_SERVER ?= postgresql://postgres@127.0.0.1:5432/postgres
export TEST_DATABASE_URL ?= $(PG_SERVER)
export LITELLM_LOCAL_MODEL_COST_MAP := True
export LITELLM_OFFLINE_MODE := true
export HF_HUB_OFFLINE := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# pip's extra local indexes warn once per package; keep the log readable.
PIP_FILTER := grep -v "is ignored: it is neither a file nor a directory" || true
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: help run test install install-test install-infra chromium postgres lint format typecheck \
        build test-unit test-sqlite test-postgres e2e test-infra synth migrate demo

help:
	@echo "make run   — install, migrate the embedded SQLite database, serve on http://127.0.0.1:$(PORT)"
	@echo "make test  — install what tests need and run every lane (lint, types, unit, SQLite, Postgres, e2e)"

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | $(PIP_FILTER)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e . 2>&1 | $(PIP_FILTER)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,e2e]' 2>&1 | $(PIP_FILTER)
	touch $(VENV)/.installed $@

$(VENV)/.installed-infra: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,infra]' 2>&1 | $(PIP_FILTER)
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-infra: $(VENV)/.installed-infra

# ---- make run ------------------------------------------------------------------------------
migrate: install
	APP_ENV=development $(PY) -m flask --app app:create_app db upgrade

demo: migrate
	APP_ENV=development $(PY) -m flask --app app:create_app demo load
	APP_ENV=development $(PY) -m flask --app app:create_app models seed

run: demo
	@echo "Serving on http://127.0.0.1:$(PORT) — the first visitor creates the administrator."
	APP_ENV=development HOST=127.0.0.1 PORT=$(PORT) WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} \
	  $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

# ---- make test -----------------------------------------------------------------------------
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "Starting PostgreSQL…"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install-test
	$(VENV)/bin/mypy app

build: install
	APP_ENV=development $(PY) -c "import wsgi" >/dev/null && echo "wsgi:app imports and builds"

test-unit: install-test
	$(PYTEST) tests/unit -q

test-sqlite: install-test
	$(PYTEST) tests/integration -q --db sqlite

test-postgres: install-test postgres
	$(PYTEST) tests/integration -q --db postgres

e2e: install-test chromium postgres
	$(PYTEST) e2e -q --output e2e/artifacts --screenshot only-on-failure --tracing retain-on-failure

# The image recipe replayed into a fresh venv, the deployment guide's SQL, the CDK stacks + cfn-lint.
test-infra: install-infra postgres
	$(PYTEST) tests/infra infra/tests -q

synth: install-infra
	cd infra && npm ci --no-audit --no-fund && npx cdk synth -q -c env=$${ENV:-Dev}

test: lint typecheck test-unit test-sqlite test-postgres e2e test-infra
	@echo "All lanes passed."
