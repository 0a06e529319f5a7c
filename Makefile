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

# A real Request Tracker (Debian's request-tracker5) and a private Postfix (Debian's postfix),
# installed with apt if missing (needs root or sudo on Debian), started for the run and stopped
# after (each run.sh wraps the next command); fails, never skips, without them.
test-integration: $(STAMP)
	bash tests/integration/postfix/run.sh \
		bash tests/integration/rt/run.sh $(BIN)/pytest -q -p no:cacheprovider tests/integration

# Every benchmark under tests/bench (each repeated; BENCH_ARGS="bench_scan --repeats 1" narrows
# it): one JSON report in build/bench.json and a table of medians, spreads and targets.
bench: $(STAMP)
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

# The site, into site/: strict (any warning, a broken link or anchor fails the build); the
# command reference is generated from the Click definitions by mkdocs-click as it builds.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
