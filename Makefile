# petcover: two commands on a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
TOOLS := .tools/venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)/shared:$(CURDIR)/functions:$(CURDIR)
export PETCOVER_TOOLS_BIN := $(CURDIR)/$(TOOLS)/bin
export SAM_CLI_TELEMETRY := 0
# ministack pins botocore, so it and the SAM CLI live in their own virtualenv.
MINISTACK_VERSION := 1.5.33
SAM_VERSION := 1.167.0


.PHONY: token curl call provider-curl provider-call
.PHONY: help install tools run up stop test unit integration e2e lint validate openapi grants generate bench events fire sink \
        deploy robustness clean console console-test console-lint browser chromium

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/activate: pyproject.toml
	@command -v $(PY) >/dev/null || { echo "python3.11 is required"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

$(TOOLS)/bin/sam:
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --upgrade pip
	$(TOOLS)/bin/pip install -q "ministack==$(MINISTACK_VERSION)" "aws-sam-cli==$(SAM_VERSION)"

install: $(BIN)/activate ## project virtualenv with dev tools

# ------------------------------------------------------------------ the console (console/, Node >= 20.19)
console/node_modules/.package-lock.json: console/package-lock.json console/package.json
	@command -v npm >/dev/null || { echo "node and npm (>= 20.19) are required for the console"; exit 1; }
	cd console && npm ci --no-audit --no-fund
	@touch $@

console/dist/index.html: console/node_modules/.package-lock.json $(shell find console/src console/index.html console/vite.config.ts -type f 2>/dev/null)
	cd console && npm run -s build

console: console/dist/index.html ## build the console (npm ci, vite build); make run/deploy upload it

console-test: console/node_modules/.package-lock.json ## the console's unit tests (vitest) and the drift test of its typed client
	cd console && npx vitest run

console-lint: console/node_modules/.package-lock.json ## the console's eslint and TypeScript check
	cd console && npm run -s lint && npm run -s typecheck

# Debian's Chromium drives the browser tests; installed from apt where missing, never downloaded
# (with a CJK font, so the screenshots show the Chinese interface).
chromium:
	@{ test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q .; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

browser: install tools console chromium ## the console in headless Chromium against the local cloud (Playwright)
	$(BIN)/pytest tests/browser

tools: $(TOOLS)/bin/sam ## ministack + SAM CLI virtualenv

run: install tools console ## start the local cloud with demo data (Ctrl-C or `make stop` to stop)
	$(BIN)/python -m infra.localcloud up --wait

up: install tools console ## start the local cloud in the background and return
	$(BIN)/python -m infra.localcloud up

stop: ## stop the local cloud
	-$(BIN)/python -m infra.localcloud down

fire: ## run a scheduled function now: make fire FN=SlaCheckFunction
	$(BIN)/python -m infra.localcloud fire $(FN)

token: ## an ops bearer token: make token ROLES=ops,finance (a portal sign-in: make token PROVIDER=<id> or INSURER=<id>)
	@$(BIN)/python -m infra.cli token --roles $(or $(ROLES),admin) $(if $(PROVIDER),--provider $(PROVIDER)) $(if $(INSURER),--insurer $(INSURER))

curl: ## a fresh signed curl line for the demo channel: make curl METHOD=POST PATH_=/quotes BODY='{...}'
	@$(BIN)/python -m infra.cli curl $(or $(METHOD),GET) $(or $(PATH_),/health) '$(BODY)'

call: ## sign, send and print the answer as the demo channel: make call METHOD=POST PATH_=/quotes BODY='{...}'
	@$(BIN)/python -m infra.cli call $(or $(METHOD),GET) $(or $(PATH_),/health) '$(BODY)'

provider-curl: ## a fresh signed curl line for the demo provider: make provider-curl PATH_=/work-orders
	@$(BIN)/python -m infra.cli curl --as provider $(or $(METHOD),GET) $(or $(PATH_),/work-orders) '$(BODY)'

provider-call: ## sign, send and print the answer as the demo provider: make provider-call METHOD=POST PATH_=/work-orders/ID/accept
	@$(BIN)/python -m infra.cli call --as provider $(or $(METHOD),GET) $(or $(PATH_),/work-orders) '$(BODY)'

sink: ## what the local webhook / chat sink received
	$(BIN)/python -m infra.localcloud sink

events: install ## regenerate events/ from template.yaml
	$(BIN)/python -m infra.events

openapi: install ## regenerate openapi.json from the handlers' models
	$(BIN)/python -m infra.openapi

grants: install ## rewrite each function's Layers, Environment and Policies in template.yaml from what its code uses
	$(BIN)/python -m infra.grants --write

generate: install ## after adding or changing an operation: events/, openapi.json and the template's grants
	$(BIN)/python -m infra.grants --write
	$(BIN)/python -m infra.events
	$(BIN)/python -m infra.openapi

validate: install tools ## cfn-lint and sam validate (its --lint would run cfn-lint a second time)
	$(BIN)/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --template template.yaml --region us-east-1

lint: install console-lint ## ruff + mypy; the console's eslint and tsc
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -n 2

integration: install
	$(BIN)/pytest tests/integration -n 2

e2e: install tools ## deploys to the emulator on free ports and talks HTTP
	$(BIN)/pytest tests/e2e

robustness: install tools ## hostile input, invariants under load, faults, isolation (full size)
	$(BIN)/pytest tests/integration/test_faults.py
	ROBUSTNESS=full $(BIN)/pytest tests/e2e -q -m robustness

test: install tools validate lint console-test console chromium ## everything: validate, lint, unit, integration, e2e, browser
	$(BIN)/pytest tests/unit tests/integration -n 2 --durations=15
	$(BIN)/pytest tests/e2e tests/browser --durations=30  # one deployment for both

bench: install tools console ## figures into bench/RESULTS.md
	$(BIN)/python -m tests.bench.run

deploy: install tools console ## deploy to AWS (guided the first time), then upload the console
	$(TOOLS)/bin/sam build --parallel
	$(BIN)/python -m infra.roles .aws-sam/build/template.yaml
	$(BIN)/python -m infra.runtime_provided .aws-sam/build
	$(BIN)/python -m infra.bytecode .aws-sam/build
	$(TOOLS)/bin/sam deploy --guided
	$(BIN)/python -m infra.console upload --stack $(or $(STACK),petcover)

clean:
	rm -rf .aws-sam .run .pytest_cache .mypy_cache .ruff_cache
