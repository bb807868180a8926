"""Where the tests find the Node tools `make node-tools` installs into ``.tools/`` (Node 22, the MCPB CLI,
the MCP conformance suite), and what to do when they are missing.

Locally a missing tool skips its test with one line saying how to get it; with
``OPS_MCP_REQUIRE_NODE_TOOLS=1`` (set by ``.ci/run``) it fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / ".tools" / "node_modules"
NODE22 = NODE_MODULES / ".bin" / "node"
MCPB_CLI = NODE_MODULES / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"
CONFORMANCE_CLI = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
HOW = "install Node.js with npm, then run `make node-tools` (installs them into .tools/ from the npm registry)"


def require(*paths: Path) -> None:
    """Skip (or, on CI, fail) unless every given tool file is installed and Node is version 22."""
    missing = [str(p.relative_to(REPO) if p.is_relative_to(REPO) else p) for p in (NODE22, *paths) if not p.exists()]
    problem = f"Node tools missing ({', '.join(missing)}): {HOW}" if missing else _node_major_problem()
    if problem is None:
        return
    if os.environ.get("OPS_MCP_REQUIRE_NODE_TOOLS") == "1":
        pytest.fail(f"{problem} [OPS_MCP_REQUIRE_NODE_TOOLS=1]")
    pytest.skip(problem)


def _node_major_problem() -> str | None:
    version = subprocess.run([str(NODE22), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return None if version.startswith("v22.") else f".tools node is {version or 'not runnable'}, not Node 22: {HOW}"


def node(script: Path, *args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a Node CLI with the project's Node 22 (never whatever `node` is first on PATH)."""
    return subprocess.run([str(NODE22), str(script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
