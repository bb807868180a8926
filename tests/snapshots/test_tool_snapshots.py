"""One snapshot per tool, exactly as ``tools/list`` returns it over MCP: every catalogue tool, the three
discovery meta-tools and ``ops_list_events``. Any change to a tool's name, text, schema or annotations shows
in review as a change to that tool's file.

A tool without a snapshot fails, and so does a snapshot whose tool no longer exists. To accept a change:
``OPS_MCP_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/snapshots``, then review and commit the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from ops_mcp.catalogue import load_catalogue
from ops_mcp.events.feed import TOOL_NAME as EVENTS_TOOL
from ops_mcp.server.discovery import CALL, DESCRIBE, SEARCH
from tests.support.runtime import ERAS, make_server, runtime_factory

SNAPSHOTS = Path(__file__).parent / "tools"
UPDATE = os.environ.get("OPS_MCP_UPDATE_SNAPSHOTS") == "1"
EVERYTHING = {"remote.*": "full", "remoteops.*": "full"}
AGENTS = {
    "static": {"areas": EVERYTHING, "tool_mode": "static"},  # every catalogue tool and ops_list_events
    "discovery": {"areas": EVERYTHING, "tool_mode": "discovery"},  # the meta-tools instead
}
META = (SEARCH, DESCRIBE, CALL)


def _expected_names() -> list[str]:
    """Known at collection time: the catalogue, the meta-tools, the events tool, and every snapshot file."""
    names = {e.tool for manifest in load_catalogue().values() for e in manifest.endpoints}
    names |= {*META, EVENTS_TOOL}
    names |= {path.stem for path in SNAPSHOTS.glob("*.json")}
    return sorted(names)


def render(tool: dict[str, Any]) -> str:
    return json.dumps(tool, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


async def _list(runtime: Any, agent: str, mode: str) -> list[dict[str, Any]]:
    async with Client(make_server(runtime, agent), mode=mode) as client:
        tools = (await client.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


@pytest.fixture(scope="module")
def listed(tmp_path_factory) -> dict[str, dict[str, dict[str, Any]]]:
    """Era → tool name → the tool as ``tools/list`` returned it (static and discovery agents together)."""
    with runtime_factory(tmp_path_factory.mktemp("snapshots"), agents=AGENTS) as make:
        runtime = make()
        by_era: dict[str, dict[str, dict[str, Any]]] = {}
        for mode in ERAS:
            tools: dict[str, dict[str, Any]] = {}
            for agent in AGENTS:
                for tool in anyio.run(_list, runtime, agent, mode):
                    assert tools.setdefault(tool["name"], tool) == tool, f"{tool['name']} differs between agents"
            by_era[mode] = tools
    return by_era


@pytest.mark.parametrize("name", _expected_names())
def test_tool_matches_its_snapshot(listed, name: str) -> None:
    path = SNAPSHOTS / f"{name}.json"
    tool = listed[ERAS[0]].get(name)
    if UPDATE:
        if tool is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(render(tool))
        return
    assert tool is not None, f"{path.name} is the snapshot of a tool tools/list no longer returns: delete it"
    assert path.exists(), f"{name} has no snapshot: run with OPS_MCP_UPDATE_SNAPSHOTS=1, review, commit"
    assert path.read_text() == render(tool), f"{name} changed: review, then OPS_MCP_UPDATE_SNAPSHOTS=1"


def test_every_listed_tool_is_covered(listed) -> None:
    """A tool that is neither in the catalogue nor a known ops-mcp tool would escape the check above."""
    assert set(listed[ERAS[0]]) <= set(_expected_names())
    assert {*META, EVENTS_TOOL} <= set(listed[ERAS[0]])


def test_both_protocol_eras_list_the_same_tools(listed) -> None:
    assert listed[ERAS[1]] == listed[ERAS[0]]
