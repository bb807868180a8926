"""The hostile suite: attacks on a real server (loopback uvicorn, the configuration ``ops-mcp serve`` uses)
by an agent with a valid token, a hostile client library, and a peer with no credential at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server_http._support import write_config

# nobody may see no tool at all; greedy reads time off (its upstream calls can be held at a gate).
AGENTS = """
[agents.nobody]
areas = {}

[agents.greedy]
areas = { "remote.timeoff" = "read" }
"""


@pytest.fixture
def hostile_config(tmp_path: Path):
    def make(limits: str = "", extra: str = "") -> Path:
        return write_config(tmp_path, AGENTS + extra + ("\n[server.limits]\n" + limits if limits else ""))

    return make
