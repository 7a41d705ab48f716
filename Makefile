# mlexport developer tasks. `make install` builds .venv from scratch; every
# other target uses it.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2

.PHONY: install system-deps test unit parity bench lint example clean

install: system-deps
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/mlexport --version

# Toolchains the JSON scorers need (Go for json-go, Gson for json-java). Java 17
# is expected on the machine. Skipped when already present.
system-deps:
	@if ! command -v go >/dev/null 2>&1 || [ ! -f /usr/share/java/gson.jar ] || ! command -v strace >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go libgoogle-gson-java strace >/dev/null; \
	  else echo "note: install Go (golang-go) and Gson (libgoogle-gson-java) for the json-go and json-java runtimes"; fi; \
	fi

# The README's test command: unit tests and the parity zoo, in parallel.
test:
	$(BIN)/pytest -n $(JOBS) tests parity_tests

unit:
	$(BIN)/pytest -n $(JOBS) tests

parity:
	$(BIN)/pytest -n $(JOBS) parity_tests

bench:
	$(BIN)/python bench/run.py

lint:
	$(BIN)/ruff check src tests parity_tests examples
	$(BIN)/mypy src/mlexport

example:
	$(BIN)/mlexport onnx examples/churn/model.joblib --data examples/churn/sample.csv

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
