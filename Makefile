# Alliance developer commands.
#
# Every target calls tools through $(VENV)/bin, so nothing needs activating, and nothing asks for
# input (CI runs `make test` with CI=true and no standard input). `make venv` creates the virtual
# environment and installs the project from pyproject.toml; it reinstalls only when pyproject.toml
# is newer than the stamp file, under a lock, because several people may share one checkout.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests benchmarks)
CONSENSUS_DIR := src/alliance/consensus
CONSENSUS_BRANCH_COVERAGE_MIN := 95

.PHONY: help venv lint types test run bench clean distclean

help:
	@echo "make run     what a one-command local alliance will do, and what exists today"
	@echo "make test    lint (ruff), types (mypy), tests (pytest) with branch coverage"
	@echo "make bench   benchmarks (benchmarks/run_all.py)"
	@echo "make lint | types | venv | clean | distclean"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@mkdir -p $(VENV)
	@lock=""; if command -v flock >/dev/null; then lock="flock $(VENV)/.lock"; fi; \
	$$lock bash -euo pipefail -c '\
	  if [ -f "$(STAMP)" ] && [ "$(STAMP)" -nt pyproject.toml ]; then exit 0; fi; \
	  if [ ! -x "$(BIN)/python" ]; then echo "creating $(VENV)"; $(PYTHON) -m venv "$(VENV)"; fi; \
	  echo "installing the project into $(VENV) (pip install -e .[dev])"; \
	  "$(BIN)/python" -m pip install --quiet --disable-pip-version-check --no-input -e ".[dev]"; \
	  touch "$(STAMP)"'

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)

types: venv
	$(BIN)/mypy

# pytest's exit code 5 means it collected no tests: that is a failure here, never a pass.
# Coverage data goes to a private temporary directory so parallel runs in one checkout don't collide.
# After the suite, the branch coverage (covered branches / all branches) of the consensus package is
# printed and enforced, once that package holds a module besides its __init__.py.
test: venv lint types
	@cov_dir=$$(mktemp -d); trap 'rm -rf "$$cov_dir"' EXIT; \
	export COVERAGE_FILE="$$cov_dir/.coverage"; \
	status=0; \
	$(BIN)/python -m pytest -p no:cacheprovider --cov=alliance --cov-branch --cov-report=term || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests, which counts as a failure" >&2; exit 1; fi; \
	if [ $$status -ne 0 ]; then exit $$status; fi; \
	if ! find $(CONSENSUS_DIR) -name '*.py' ! -path '$(CONSENSUS_DIR)/__init__.py' 2>/dev/null | grep -q .; then \
	  echo "consensus branch coverage: no consensus modules yet, nothing to check"; exit 0; fi; \
	if ! $(BIN)/python -m coverage json --quiet --include='$(CONSENSUS_DIR)/*' -o "$$cov_dir/consensus.json"; then \
	  echo "consensus branch coverage: no coverage data for $(CONSENSUS_DIR)" >&2; exit 1; fi; \
	$(BIN)/python -c "$$CONSENSUS_COVERAGE_PY" "$$cov_dir/consensus.json" $(CONSENSUS_BRANCH_COVERAGE_MIN)

define CONSENSUS_COVERAGE_PY
import json, sys
totals = json.load(open(sys.argv[1]))["totals"]
branches, covered, bound = totals["num_branches"], totals["covered_branches"], float(sys.argv[2])
percent = 100.0 * covered / branches if branches else 100.0
print(f"consensus branch coverage: {percent:.1f}% ({covered}/{branches} branches, minimum {bound:g}%)")
sys.exit(1 if percent < bound else 0)
endef
export CONSENSUS_COVERAGE_PY

run:
	@echo "make run will start a whole local alliance in one command ('alliance up'): several"
	@echo "validator nodes on 127.0.0.1 with BFT consensus, the REST API and the web explorer."
	@echo "That arrives with the node runtime in a later issue; nothing is started yet."
	@echo
	@echo "What exists today:"
	@echo "  - the ledger core (src/alliance): codec, keys, transactions and blocks, the state tree with"
	@echo "    proofs, LMDB storage, the executor and the mempool"
	@echo "  - the consensus core (Tendermint, sans-IO) and its simulator:"
	@echo "      $(BIN)/python -m alliance.testing.sim --seeds 100"
	@echo "  - make test   lint, type checks and the test suite with branch coverage"
	@echo "  - make bench  benchmarks of the executor and the mempool"

bench: venv
	@if [ -f benchmarks/run_all.py ]; then $(BIN)/python benchmarks/run_all.py; \
	else echo "no benchmarks yet (benchmarks/run_all.py does not exist)"; fi

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov build dist .coverage .coverage.*
	find src tests $(wildcard benchmarks) -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
