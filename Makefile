# Two commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= examples/ops-mcp.toml

.PHONY: run test lint bench profile soak sandbox manifests clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,metrics]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ops-mcp run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ops-mcp manifest build --check
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Writes benchmarks/RESULTS.md: ~15 min on 2 quiet cores (29 min at load average 7); BENCH_ARGS=--quick
# is a smoke run of every figure (~4 min quiet, 11 min at load average 8).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Writes benchmarks/PROFILE.md (~5 min): py-spy samples each server per transport; PROFILE_ARGS=--quick.
profile: $(STAMP)
	$(BIN)/python -m benchmarks.profiling $(PROFILE_ARGS)

soak: $(STAMP)
	$(BIN)/python -m pytest tests/reliability -m soak -o addopts='' -q

sandbox: $(STAMP)
	$(BIN)/ops-mcp sandbox

manifests: $(STAMP)
	$(BIN)/ops-mcp manifest build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
