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

run: migrate console
	$(PYTHON) -m newapi serve --no-migrate

# The web console (console/README.md): installed and rebuilt only when the build is missing or
# older than its sources or package-lock.json. `make test` runs its tests through pytest.
CONSOLE_SOURCES := $(shell find console/src console/scripts -type f 2>/dev/null) \
	console/index.html console/vite.config.ts console/package.json
.PHONY: console
console: console/dist/index.html

console/node_modules/.package-lock.json: console/package-lock.json
	cd console && npm ci --no-audit --no-fund
	touch $@

console/dist/index.html: console/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd console && npm run build

lint: $(STAMP)
	$(PYTHON) -m ruff check newapi tests bench
	$(PYTHON) -m ruff format --check newapi tests bench

# Two workers (a test file runs whole on one: module-scoped servers start once), then the short
# benchmark alone: its bars are ratios measured against the same fake upstream, best taken on an
# otherwise idle machine.
test: lint
	$(PYTHON) -m pytest -q -n 2 --dist loadfile --ignore=tests/bench
	$(PYTHON) -m pytest -q tests/bench

# The benchmark harness (bench/README.md): `make bench`, or `make bench BENCH_ARGS=--short`.
.PHONY: bench
bench: $(STAMP)
	$(PYTHON) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
