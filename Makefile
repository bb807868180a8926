# Two commands on a fresh machine with only python3: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run` needs only what a user installs (`.[metrics]`), under a stamp of its own: on a fresh clone the
# venv it runs from has no test-only packages. (`make test` adds them to the same venv; what they would
# have cost at start-up — httpx's CLI importing click, rich and pygments — ops-mcp no longer loads at all,
# see src/ops_mcp/_httpx_cli.py.)
RUN_STAMP := $(VENV)/.installed-run
CONFIG ?= examples/ops-mcp.toml

.PHONY: run test typecheck lint bench profile reliability-report soak sandbox manifests clean node-tools bundle wheel \
        console-screenshots

# Node tools for the tests (Node 22, the MCPB CLI, the MCP conformance suite), pinned by tests/npm/ and
# installed from the npm registry into .tools/ (git-ignored). Without npm their tests are skipped; CI sets
# OPS_MCP_REQUIRE_NODE_TOOLS=1 so that a missing npm or an unreachable registry fails instead.
TOOLS      := .tools
NODE_STAMP := $(TOOLS)/node_modules/.ops-mcp-installed
NODE22     := $(TOOLS)/node_modules/.bin/node
MCPB       := $(TOOLS)/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js
VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
BUNDLE_OUT ?= dist

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,metrics]'
	touch $(STAMP)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[metrics]'
	touch $(RUN_STAMP)

# PORT=9000 make run serves on another port (default: [server] port, 8765, or a free one if taken).
run: $(RUN_STAMP)
	$(BIN)/ops-mcp run --config $(CONFIG)$(if $(PORT), --port $(PORT))

# Writes nothing tracked: figures are recorded only by `make reliability-report` and `make soak`.
# One pytest worker per core plus one (tests/conftest.py; a test module stays on one worker, so its shared
# fixtures are built once).
# Compiled modules are cached in the (ignored) __pycache__ folders even where the environment says not to:
# every ops-mcp subprocess the suite starts would otherwise compile the whole package again.
test: export PYTHONDONTWRITEBYTECODE =
test: $(STAMP) node-tools
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/ops-mcp manifest build --check
	$(BIN)/python -m pytest -n auto --dist loadscope

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Writes benchmarks/RESULTS.md: ~15 min on 2 quiet cores (29 min at load average 7); BENCH_ARGS=--quick
# is a smoke run of every figure (~4 min quiet, 11 min at load average 8).
# OPS_MCP_BIN=/path/to/ops-mcp measures another install (e.g. a venv with only `.[metrics]`).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Writes benchmarks/PROFILE.md (~5 min): py-spy samples each server per transport; PROFILE_ARGS=--quick.
profile: $(STAMP)
	$(BIN)/python -m benchmarks.profiling $(PROFILE_ARGS)

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

# docs/console-matrix.png and docs/console-approvals.png, taken by Debian's Chromium (apt-get install chromium).
console-screenshots: $(STAMP)
	$(BIN)/python -m tests.console.screenshots docs

sandbox: $(STAMP)
	$(BIN)/ops-mcp sandbox

manifests: $(STAMP)
	$(BIN)/ops-mcp manifest build

node-tools: $(NODE_STAMP)

$(NODE_STAMP): tests/npm/package.json tests/npm/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$OPS_MCP_REQUIRE_NODE_TOOLS" = 1 ]; then echo "npm not found, and OPS_MCP_REQUIRE_NODE_TOOLS=1" >&2; exit 1; fi; \
	  echo "npm not found: the .mcpb and MCP conformance tests will be skipped (install Node.js with npm, then: make node-tools)"; \
	else \
	  mkdir -p $(TOOLS) && cp tests/npm/package.json tests/npm/package-lock.json $(TOOLS)/ && \
	  if (cd $(TOOLS) && npm ci --no-audit --no-fund --loglevel=error); then touch $@; \
	  elif [ "$$OPS_MCP_REQUIRE_NODE_TOOLS" = 1 ]; then echo "npm ci failed (is the npm registry reachable?)" >&2; exit 1; \
	  else echo "npm ci failed: the .mcpb and MCP conformance tests will be skipped (retry: make node-tools)"; fi; \
	fi

# The Claude Desktop bundle: bundle/ packed and validated by the official MCPB CLI.
bundle: $(NODE_STAMP)
	@test -x $(NODE22) || { echo "make bundle needs the Node tools: install Node.js with npm, then make node-tools" >&2; exit 1; }
	$(NODE22) $(MCPB) validate bundle/manifest.json
	@mkdir -p $(BUNDLE_OUT)
	$(NODE22) $(MCPB) pack bundle $(BUNDLE_OUT)/ops-mcp-$(VERSION).mcpb

# The wheel that `pip install`/`uvx` take; it carries the manifests and the sandbox data.
wheel: $(STAMP)
	$(BIN)/uv build --quiet --wheel --out-dir dist

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache $(RESULTS) $(TOOLS)
