# Trellis: `make run` serves the app on http://localhost:3000; `make test` runs lint and the whole suite.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
NODE_VERSION := 22.23.3
BUN_VERSION := 1.4.4

# Reflex finds node and bun from the npm registry here; its own bun download cannot work offline.
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false

fail = { echo; echo "make: $(1)"; exit 1; }

.DEFAULT_GOAL := help
.PHONY: help run cluster test lint unit e2e install tools services migrate schema bench clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/python:
	@echo "==> Creating $(VENV) with $(PYTHON)"
	@test -n "$(PYTHON)" || $(call fail,Python 3.11 was not found; install python3.11 and try again)
	@$(PYTHON) -m venv $(VENV) || $(call fail,could not create $(VENV) with $(PYTHON))

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "==> Installing Trellis and its pinned dependencies into $(VENV)"
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; } \
		|| $(call fail,pip could not install the dependencies; see the pip output above)
	@touch $@

$(TOOLS)/.installed:
	@echo "==> Installing node $(NODE_VERSION) and bun $(BUN_VERSION) from the npm registry into $(TOOLS)"
	@mkdir -p $(TOOLS)
	@npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error \
		node@$(NODE_VERSION) bun@$(BUN_VERSION) >/dev/null \
		|| $(call fail,npm could not install node and bun; is npm installed and the npm registry reachable?)
	@$(TOOLS)/node_modules/.bin/bun --version >/dev/null || $(call fail,bun from the npm registry does not run)
	@touch $@

install: $(VENV)/.installed ## Create the venv and install Trellis
tools: $(TOOLS)/.installed ## Install node and bun into .tools/

migrate: install ## Create or upgrade the database (SQLite under .trellis/ by default)
	@$(BIN)/trellis migrate || $(call fail,the database migration failed; see above)

run: install tools migrate ## Serve the app on http://localhost:3000 (TRELLIS_PORT changes it)
	@$(BIN)/trellis serve

cluster: install tools ## 2 web (ports 3000, 3001), 3 workers and a scheduler on local PostgreSQL and Redis
	@$(BIN)/trellis cluster

services: ## Start (or install) PostgreSQL, Redis and Chromium for the tests
	@bash .ci/services || $(call fail,the test services could not be started; see above)

lint: install ## ruff and the layering contract
	@echo "==> Lint"
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . \
		|| $(call fail,lint failed; 'ruff check --fix .' and 'ruff format .' fix most of it)
	@out=$$($(BIN)/lint-imports 2>&1) && echo "$$out" | grep -E '^(Contracts|.* (KEPT|BROKEN))' \
		|| { echo "$$out"; $(call fail,a layering contract is broken: runtime must not import the UI; components no project code); }

test: install tools services lint ## Lint, then the whole suite on real PostgreSQL, Redis and Chromium
	@echo "==> Tests"
	@$(BIN)/pytest -q $(PYTEST_ARGS)

schema: install ## Regenerate runtime/graph/workflow.schema.json
	@$(BIN)/python -m runtime.graph.generate

clean: ## Remove the venv, tools, build output and the local database
	rm -rf $(VENV) $(TOOLS) .web .trellis
