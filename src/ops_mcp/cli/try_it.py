"""The curl commands ``ops-mcp run`` prints: complete 2026-07-28 requests that need no session.

A 2026-07-28 request carries everything in itself — the protocol version and the client's capabilities
in ``params._meta``, the method (and tool name) in ``Mcp-Method``/``Mcp-Name`` headers — so ``tools/list``
and ``tools/call`` work as single commands, pasted in any order. The token is read from
``$OPS_MCP_TOKEN`` so that the same lines work whether the token was just issued or kept from before.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime import Runtime

PROTOCOL = "2026-07-28"
TOKEN_VARIABLE = "OPS_MCP_TOKEN"
_META = {"io.modelcontextprotocol/protocolVersion": PROTOCOL, "io.modelcontextprotocol/clientCapabilities": {}}


def example_call(runtime: Runtime, agent: str) -> tuple[str, dict[str, Any]]:
    """A read the agent may make with no arguments: its first such tool, or a search in discovery mode."""
    policy = runtime.policies[agent]
    if runtime.discovery.discovery_on(policy):
        return "ops_search_tools", {"query": "list what needs attention today"}
    for endpoint in policy.visible():
        required = [*endpoint.parameters.path.get("required", []), *endpoint.parameters.query.get("required", [])]
        if endpoint.access == "read" and not required and endpoint.parameters.body is None:
            return endpoint.tool, {}
    return "ops_list_events", {}


def curl(url: str, method: str, params: dict[str, Any], *, request_id: int, name: str | None = None) -> str:
    """One shell command: a complete 2026-07-28 JSON-RPC request to ``url``."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": _META}}
    headers = [f"MCP-Protocol-Version: {PROTOCOL}", f"Mcp-Method: {method}"]
    if name is not None:
        headers.append(f"Mcp-Name: {name}")
    return " \\\n    ".join([
        f'curl -s {shlex.quote(url)} -H "Authorization: Bearer ${TOKEN_VARIABLE}"',
        "-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'",
        " ".join(f"-H {shlex.quote(h)}" for h in headers),
        f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}",
    ])


def session_less_requests(runtime: Runtime, agent: str, mcp_url: str) -> list[str]:
    """``tools/list`` and one ``tools/call`` the agent is allowed, as curl commands."""
    tool, arguments = example_call(runtime, agent)
    return [
        curl(mcp_url, "tools/list", {}, request_id=1),
        curl(mcp_url, "tools/call", {"name": tool, "arguments": arguments}, request_id=2, name=tool),
    ]
