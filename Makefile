# Every target works on a fresh machine with nothing but Python 3.10+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-integration lint bench docs install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/zcomp demo

lint: $(STAMP)
	$(BIN)/ruff check zcomp tests
	$(BIN)/ruff format --check zcomp tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -p no:cacheprovider

# A real Request Tracker (Debian's request-tracker5, installed with apt if missing: needs root or
# sudo on Debian), started for the run and stopped after; fails, never skips, without one.
test-integration: $(STAMP)
	bash tests/integration/rt/run.sh $(BIN)/pytest -q -p no:cacheprovider tests/integration

bench: $(STAMP)
	$(BIN)/python -m tests.bench

docs: $(STAMP)
	$(BIN)/python -m zcomp.cli.docs > docs/commands.md
	@echo "wrote docs/commands.md"

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
