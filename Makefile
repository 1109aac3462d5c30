# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.textlens-installed
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export TEXTLENS_DATA ?= $(SHARED_DATA)
endif
export OMP_NUM_THREADS ?= 2

.PHONY: setup demo test lint lint-js bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,ray]'
	touch $(STAMP)

demo: setup
	$(BIN)/textlens demo

test: setup
	$(BIN)/ruff check src tests bench
	$(MAKE) --no-print-directory lint-js
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests bench
	$(MAKE) --no-print-directory lint-js

# The dashboard's JavaScript (src/textlens/serve/static, ES modules) through ESLint, versions
# pinned in package.json + package-lock.json, installed into node_modules/ (gitignored) by npm ci.
JS_STAMP := node_modules/.textlens-installed

$(JS_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make: npm not found. The JavaScript lint (ESLint) needs Node.js >= 18 with npm: install them (e.g. apt-get install nodejs npm) and run make again." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-js: $(JS_STAMP)
	npx --no-install eslint src/textlens/serve/static eslint.config.js
