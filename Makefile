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

ALLIANCE_DIR ?= .alliance

.PHONY: help venv lint types test run bench clean distclean

help:
	@echo "make run     start a local alliance of 4 validators (alliance up), run the Goodness demo, print where to look"
	@echo "make test    lint (ruff), types (mypy), tests (pytest) with branch coverage"
	@echo "make bench   benchmarks (benchmarks/run_all.py)"
	@echo "make lint | types | venv | clean | distclean"

venv: $(STAMP)

# setup.py and the C source too: a changed extension is rebuilt (pip install -e . compiles it in place).
$(STAMP): pyproject.toml setup.py src/alliance/state/_treecore.c
	@mkdir -p $(VENV)
	@lock=""; if command -v flock >/dev/null; then lock="flock $(VENV)/.lock"; fi; \
	$$lock bash -euo pipefail -c '\
	  if [ -f "$(STAMP)" ] && [ "$(STAMP)" -nt pyproject.toml ] && [ "$(STAMP)" -nt setup.py ] \
	    && [ "$(STAMP)" -nt src/alliance/state/_treecore.c ]; then exit 0; fi; \
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

# The one-command local alliance: creates .alliance (4 organisations, 4 validators) on first use,
# starts every node that is not running, waits for the first block, prints the endpoints; then a
# small Goodness demo (a second run adds to the first) and where to look.
run: venv
	$(BIN)/alliance up --dir $(ALLIANCE_DIR)
	$(BIN)/alliance demo goodness --users 20 --days 2 --dir $(ALLIANCE_DIR)
	@echo
	@echo "explorer: $$($(BIN)/alliance status --dir $(ALLIANCE_DIR) --json | $(BIN)/python -c \
	  'import json, sys; print(json.load(sys.stdin)["nodes"][0]["api"] + "/")')  (the demo's alliance: /goodness)"
	@echo "console:  $(BIN)/alliance console --dir $(ALLIANCE_DIR)  (prints a one-time login URL; actions sign with its keys)"
	@echo "Goodness: $(BIN)/alliance goodness supervise --dir $(ALLIANCE_DIR)"
	@echo "          $(BIN)/alliance goodness account user-0001 --dir $(ALLIANCE_DIR)"
	@echo "          $(BIN)/alliance goodness --help  (README: Goodness)"
	@echo "Try it (the commands are in $(BIN); 'source $(VENV)/bin/activate' puts them on PATH):"
	@echo "  $(BIN)/alliance keys new bob --dir $(ALLIANCE_DIR)"
	@echo "  $(BIN)/alliance tx transfer --from dev --to bob --amount 5 --wait --dir $(ALLIANCE_DIR)"
	@echo "  $(BIN)/alliance query account bob --dir $(ALLIANCE_DIR)"
	@echo "  $(BIN)/alliance status --dir $(ALLIANCE_DIR)"
	@echo "  $(BIN)/alliance down --dir $(ALLIANCE_DIR)"

bench: venv
	@if [ -f benchmarks/run_all.py ]; then $(BIN)/python benchmarks/run_all.py; \
	else echo "no benchmarks yet (benchmarks/run_all.py does not exist)"; fi

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov build dist .coverage .coverage.*
	find src tests $(wildcard benchmarks) -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
	rm -f src/alliance/state/_treecore*.so
