"""``ops-mcp agents …`` and ``ops-mcp run`` as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx

from ops_mcp.cli import main
from ops_mcp.config import load_settings
from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.support.waiting import eventually_sync


def test_agents_add_list_revoke(config_path, capsys) -> None:
    args = ["--config", str(config_path)]
    assert main(["agents", "add", "hr", *args]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("omcp_") and len(token) > 40
    store = AgentTokenStore(load_settings(config_path).state_dir())
    assert store.agent_for(token) == "hr"
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert main(["agents", "add", "hr", *args]) == 1  # already has one: --rotate needed
    assert main(["agents", "add", "nobody", *args]) == 2
    assert main(["agents", "list", *args]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^hr\s+token omcp_", listing, re.M) and re.search(r"^dispatch\s+no token", listing, re.M)
    assert token not in listing
    assert main(["agents", "add", "hr", "--rotate", *args]) == 0
    rotated = capsys.readouterr().out.strip()
    assert store.agent_for(token) is None and store.agent_for(rotated) == "hr"
    assert main(["agents", "revoke", "hr", *args]) == 0
    assert store.agent_for(rotated) is None
    assert main(["agents", "revoke", "hr", *args]) == 1


def test_run_prints_url_and_token_and_serves(config_path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "ops_mcp.cli", "run", "--config", str(config_path), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Press Ctrl+C" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        url = re.search(r"MCP \(streamable HTTP\):\s+(\S+)", text).group(1)
        token = re.search(r"^\s+(omcp_\S+)$", text, re.M).group(1)
        assert '"mcpServers"' in text and '"--transport"' in text
        base = url.removesuffix("/mcp")

        def ready() -> bool:
            try:
                return httpx.get(base + "/readyz").status_code == 200
            except httpx.TransportError:
                return False

        assert eventually_sync(ready), "ops-mcp run never became ready"
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
        assert httpx.post(url, json=init, headers=headers).status_code == 200
        assert httpx.post(url, json=init, headers={**headers, "Authorization": "Bearer nope"}).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
