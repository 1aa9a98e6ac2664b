# Two commands do all set-up on a fresh machine (Python 3.11 and pip only):
#   make demo   - creates .venv, installs driftguard, tells the story on the local AWS
#   make test   - same set-up, then lint, type-check and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Template checkers pin other boto3/pydantic versions than driftguard (and than each
# other): each gets a venv of its own.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-stamp
CHECKOV_VERSION := 3.3.30
SAM := .venv-sam
SAM_STAMP := $(SAM)/.installed-stamp
SAM_CLI_VERSION := 1.170.0
# The aws CLI, for the sandbox walkthrough (it pins its own botocore).
AWSCLI := .venv-aws
AWSCLI_STAMP := $(AWSCLI)/.installed-stamp
AWSCLI_VERSION := 1.46.3
# Cloud Custodian, what `make bench` compares driftguard's detection sweep with.
C7N := .venv-c7n
C7N_STAMP := $(C7N)/.installed-stamp
C7N_VERSION := 0.9.53

.PHONY: install tools browser demo sandbox test lint audit lock fast unit functional bench clean

$(STAMP): pyproject.toml layers/driftguard/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

$(TOOLS_STAMP): Makefile
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "checkov==$(CHECKOV_VERSION)"
	touch $(TOOLS_STAMP)

$(SAM_STAMP): Makefile
	$(PYTHON) -m venv $(SAM)
	$(SAM)/bin/python -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$(SAM_CLI_VERSION)"
	touch $(SAM_STAMP)

$(C7N_STAMP): Makefile
	$(PYTHON) -m venv $(C7N)
	$(C7N)/bin/python -m pip install --quiet --disable-pip-version-check "c7n==$(C7N_VERSION)"
	touch $(C7N_STAMP)

$(AWSCLI_STAMP): Makefile
	$(PYTHON) -m venv $(AWSCLI)
	$(AWSCLI)/bin/python -m pip install --quiet --disable-pip-version-check "awscli==$(AWSCLI_VERSION)"
	touch $(AWSCLI_STAMP)

tools: $(TOOLS_STAMP) $(SAM_STAMP) $(AWSCLI_STAMP)

# Headless Chromium (Debian's package) renders the HTML report in the report tests.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: install
	$(BIN)/driftguard demo

# The local AWS for people: prints the `export` line for another shell, runs until Ctrl-C.
sandbox: install
	$(BIN)/driftguard sandbox --story

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r layers/driftguard/driftguard functions -lll

# Known vulnerabilities in what the layer ships (layers/driftguard/requirements.lock):
# fails on any; says "NOT CHECKED", and passes, when it cannot reach the database.
audit: install
	$(BIN)/python -m tests.support.audit

# Run after editing layers/driftguard/requirements.txt: the layer installs the lock
# only, the whole closure with every file's sha256. Pins already in the lock are kept;
# `make lock LOCK_ARGS=--upgrade` (or `-P <package>`) takes newer ones, e.g. a fix the
# audit asks for. The contract tests check the lock against requirements.txt and the
# layer, for the Lambda runtime and for this interpreter.
lock: install
	cd layers/driftguard && CUSTOM_COMPILE_COMMAND="make lock" $(CURDIR)/$(BIN)/pip-compile \
		--no-config --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
		--output-file requirements.lock requirements.txt

# Tests run on every core (pytest-xdist), a module's tests on one worker (they share
# module fixtures: a built layer, a rendered report, a world of queries).
test: lint audit tools browser
	HYPOTHESIS_PROFILE=thorough $(BIN)/pytest -n auto --dist loadscope

# The fast tier: everything but the local AWS, the browser and the packaging tools.
fast: install
	$(BIN)/pytest -m "not sandbox"

unit: install
	$(BIN)/pytest tests/unit

functional: install
	$(BIN)/pytest tests/functional

# Benchmarks (tests/bench): one table, every figure measured in the same run; the
# full run takes a while on 2 cores. `BENCH_ARGS=--quick` for a small one,
# `BENCH_ARGS="--write docs/performance.md"` to record the results.
bench: install $(C7N_STAMP)
	$(BIN)/python -m tests.bench --c7n $(C7N)/bin/custodian $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) $(SAM) $(C7N) $(AWSCLI) .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
