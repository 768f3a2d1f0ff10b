# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck bench schemas fuzz clean browser

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

# The audit report is tested in Debian's Chromium. CI (CI=true) installs it and the test must
# run there; elsewhere a missing browser is one skip line.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ -n "$$CI" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: no chromium (apt-get install chromium): the report's browser test is skipped"; fi

# Two processes, one test file each (module fixtures are built once): the suite in half the time.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
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
