# The two commands a new user needs:  make run  (the whole platform)  and  make test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HLS_JS_VERSION := 1.7.4
HLS_STAMP := var/npm/.hls.js-$(HLS_JS_VERSION)

.PHONY: run test setup lint typecheck pytest redis clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "could not create a virtualenv: install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# hls.js is served by the platform itself (no CDN): video networks are often offline.
$(HLS_STAMP):
	@command -v npm >/dev/null || { echo "npm is needed to fetch hls.js for the console: apt-get install npm"; exit 1; }
	npm install --prefix var/npm --no-save --no-package-lock --no-audit --no-fund hls.js@$(HLS_JS_VERSION)
	@touch $@

setup: $(STAMP) $(HLS_STAMP)

redis: setup
	@bash scripts/ensure_redis.sh

run: setup redis
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(VENV)/bin/honcho start -f Procfile

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy .

pytest: setup redis
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) var/static
