# Two commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= examples/ops-mcp.toml

.PHONY: run test typecheck lint bench reliability-report soak sandbox manifests clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,metrics]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ops-mcp run --config $(CONFIG)

# Writes nothing tracked: figures are recorded only by `make reliability-report` and `make soak`.
# One pytest worker per core (a test module stays on one worker, so its shared fixtures are built once).
# Compiled modules are cached in the (ignored) __pycache__ folders even where the environment says not to:
# every ops-mcp subprocess the suite starts would otherwise compile the whole package again.
test: export PYTHONDONTWRITEBYTECODE =
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/ops-mcp manifest build --check
	$(BIN)/python -m pytest -n auto --dist loadscope

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Writes benchmarks/RESULTS.md (~11 min on 2 cores); BENCH_ARGS=--quick for a 2-minute smoke run.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# docs/RELIABILITY.md is rendered from what the reliability suite measured: items 1-6 at full volume
# here, item 7 (the 10-minute soak) by `make soak`; each keeps the other's sections as they were.
RESULTS := tests/reliability/.results
reliability-report: $(STAMP)
	rm -rf $(RESULTS)
	OPS_MCP_RELIABILITY_RESULTS=$(RESULTS) $(BIN)/python -m pytest tests/reliability
	$(BIN)/python -m tests.reliability.recorder $(RESULTS) docs/RELIABILITY.md

soak: $(STAMP)
	rm -rf $(RESULTS)
	OPS_MCP_RELIABILITY_RESULTS=$(RESULTS) $(BIN)/python -m pytest tests/reliability -m soak -o addopts='' -q
	$(BIN)/python -m tests.reliability.recorder $(RESULTS) docs/RELIABILITY.md

sandbox: $(STAMP)
	$(BIN)/ops-mcp sandbox

manifests: $(STAMP)
	$(BIN)/ops-mcp manifest build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache $(RESULTS)
