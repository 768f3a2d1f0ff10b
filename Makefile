# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck bench schemas clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/zkmargin demo

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check zkmargin tests benchmarks examples
	$(BIN)/mypy --strict

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m 'not slow'

lint: $(STAMP)
	$(BIN)/ruff check zkmargin tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_rangeproof.py
	$(BIN)/python benchmarks/bench_margin.py
	$(BIN)/python benchmarks/bench_circuits.py

schemas: $(STAMP)
	$(BIN)/python -m zkmargin.formats.schema docs/formats

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
