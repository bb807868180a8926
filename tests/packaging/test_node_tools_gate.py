"""The gate in front of the Node-based tests: without npm, ``make`` says in one line how to get the tools and
the tests skip; with ``OPS_MCP_REQUIRE_NODE_TOOLS=1`` (CI) both fail instead of passing by skipping."""

from __future__ import annotations

import shutil

import pytest
from tests import node_tools
from tests.packaging.support import REPO, run


def _make_node_tools(tmp_path, **env: str):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    empty = tmp_path / "no-npm-here"
    empty.mkdir(exist_ok=True)
    # -B reruns the install rule even though .tools/ is up to date; with no npm on PATH it cannot touch .tools/.
    return run([make, "-s", "-B", "-C", REPO, "node-tools"], env={"PATH": str(empty), **env}, timeout=60)


def test_without_npm_make_says_how_to_get_the_tools_in_one_line(tmp_path):
    done = _make_node_tools(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "npm not found: the .mcpb and MCP conformance tests will be skipped "
        "(install Node.js with npm, then: make node-tools)"]


def test_without_npm_ci_fails(tmp_path):
    done = _make_node_tools(tmp_path, OPS_MCP_REQUIRE_NODE_TOOLS="1")
    assert done.returncode != 0
    assert "npm not found, and OPS_MCP_REQUIRE_NODE_TOOLS=1" in done.stderr


def test_a_missing_tool_skips_locally_and_fails_on_ci(tmp_path, monkeypatch):
    missing = tmp_path / "not-installed.js"
    monkeypatch.delenv("OPS_MCP_REQUIRE_NODE_TOOLS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make node-tools"):
        node_tools.require(missing)
    monkeypatch.setenv("OPS_MCP_REQUIRE_NODE_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception, match="OPS_MCP_REQUIRE_NODE_TOOLS=1"):
        node_tools.require(missing)
