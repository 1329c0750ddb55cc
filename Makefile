# Two commands for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# make run serves SQLite in ./data unless SQL_DSN points elsewhere; every server env variable
# (PORT, SQL_DSN, SQLITE_PATH, REDIS_CONN_STRING, ...) passes through unchanged.
SQLITE_PATH ?= data/one-api.db
export SQLITE_PATH

.PHONY: run test lint migrate install clean

$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	mkdir -p data
	$(PYTHON) -m newapi migrate

run: migrate
	$(PYTHON) -m newapi serve --no-migrate

lint: $(STAMP)
	$(PYTHON) -m ruff check newapi tests bench
	$(PYTHON) -m ruff format --check newapi tests bench

test: lint
	$(PYTHON) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
