# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck bench schemas fuzz clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

FUZZ_STAMP := $(VENV)/.installed-fuzz

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,fuzz]'
	touch $(FUZZ_STAMP)

demo: $(STAMP)
	$(BIN)/zkmargin demo

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check zkmargin tests benchmarks examples fuzz
	$(BIN)/mypy --strict

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m 'not slow'

lint: $(STAMP)
	$(BIN)/ruff check zkmargin tests benchmarks examples fuzz

typecheck: $(STAMP)
	$(BIN)/mypy --strict

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_rangeproof.py
	$(BIN)/python benchmarks/bench_margin.py
	$(BIN)/python benchmarks/bench_circuits.py
	$(BIN)/python benchmarks/bench_exchange.py --quick

# Coverage-guided fuzzing (atheris) of every decoder and reader: at least 10^6 inputs in all;
# then the forger's property tests (tests/test_forgery.py) with 20 times their examples.
fuzz: $(FUZZ_STAMP)
	$(BIN)/python fuzz/run.py --total 1000000
	ZKMARGIN_FUZZ=1 $(BIN)/python -m pytest -q tests/test_forgery.py

schemas: $(STAMP)
	$(BIN)/python -m zkmargin.formats.schema docs/formats

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
