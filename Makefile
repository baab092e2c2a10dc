# The project's vocabulary. `make dev` runs it, `make test` tests it; both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# python3.13 is the Lambda runtime; pyenv machines expose it through PYENV_VERSION.
export PYENV_VERSION ?= 3.11.7:3.12.1:3.13.0
export SAM_CLI_TELEMETRY := 0
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: help setup dev sandbox token test lint fmt typecheck validate unit integration e2e mutation bench chaos build openapi clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.13" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) $(BIN)/payments ## create the virtualenv with the pinned dev requirements and the `payments` command

# The `payments` console script (pyproject.toml [project.scripts]): an editable install of local/ only.
$(BIN)/payments: $(STAMP) pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

dev: $(STAMP) ## run the whole stack locally: gateway :3000, webhook :3001, YooKassa sandbox :8090
	$(BIN)/python -m local dev

sandbox: $(STAMP) ## run the YooKassa sandbox alone on :8090 (python -m local.yookassa_sandbox --help)
	$(BIN)/python -m local.yookassa_sandbox --host 127.0.0.1 --port $(or $(SANDBOX_PORT),8090)

token: $(STAMP) ## print a dev JWT: make -s token SUB=alice [SCOPE=payments/admin]
	@$(BIN)/python -m local token --sub "$(or $(SUB),alice)" $(if $(SCOPE),--scope "$(SCOPE)")

test: setup lint typecheck validate ## everything CI runs: lint, types, template, all tests
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP) ## ruff lint and format check, the import contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=layers/payments $(BIN)/lint-imports --no-cache --no-logo

fmt: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy over the layer, handlers, local runner and tests
	$(BIN)/mypy layers/payments/payments functions local tests bench chaos

validate: $(STAMP) ## sam validate --lint, then SAM -> CloudFormation offline + cfn-lint (offline)
	$(BIN)/sam validate --lint
	$(BIN)/python scripts/sam2cfn.py template.yaml build/template.cfn.json
	@# W1020: the translator itself leaves a Sub without variables (the layer name, Stage resolved)
	$(BIN)/cfn-lint --ignore-checks W1020 -- build/template.cfn.json

build: $(STAMP) ## sam build for arm64 / python3.13, offline, no Docker -> .aws-sam/build
	$(BIN)/sam build

openapi: $(STAMP) ## regenerate openapi.json from the handlers' own models
	$(BIN)/python -m scripts.openapi

unit: $(STAMP) ## fast pure tests only
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) ## handlers against moto DynamoDB and the YooKassa sandbox
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP) ## the local stack as a subprocess, over HTTP, and the browser tests
	$(BIN)/pytest -q tests/e2e

mutation: $(STAMP) ## mutation testing of money and the domain against tests/unit (minutes; not in make test)
	$(BIN)/python scripts/mutation.py

bench: $(STAMP) ## speed and cost against baselines, see bench/__init__.py (BENCH_QUICK=1: a quick check)
	$(BIN)/python -m bench

chaos: $(STAMP) ## a seeded bad day over HTTP, then the money invariants: make chaos SEED=1 PAYMENTS=300 (~4 min)
	$(BIN)/python -m chaos --seed $(or $(SEED),1) --payments $(or $(PAYMENTS),300)

clean: ## remove build output and caches (keeps the virtualenv)
	rm -rf .aws-sam build .pytest_cache .mypy_cache .ruff_cache .hypothesis
