"""SDK ``Client`` sessions over streamable HTTP, as a hosted agent would open them, in either era."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import Any

LEGACY = "legacy"  # the handshake era (initialize + session id): what most hosts speak today
MODERN = "2026-07-28"  # the stateless era: no handshake, the version pinned on every request
ERAS = (LEGACY, MODERN)
ERA = LEGACY  # the rate-limit figure's era


async def _skip_validation(name: str, result: Any) -> None:
    return None


@asynccontextmanager
async def session(url: str, token: str | None = None, era: str = ERA):
    """One agent session. The client's own check of ``structuredContent`` against ``outputSchema`` is
    skipped: these figures time servers, and the client shares their cores (see ``schema_check``)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0)) as http,
        Client(streamable_http_client(url, http_client=http), mode=era, cache=None) as client,
    ):
        client.session.validate_tool_result = _skip_validation
        yield client


async def call(client: Any, tool: str, arguments: dict[str, Any]) -> tuple[float, dict[str, Any] | None, str]:
    """Seconds taken, the result as wire JSON (None when the call raised), and the error text if any."""
    began = time.perf_counter()
    try:
        result = await client.call_tool(tool, arguments)
    except Exception as exc:
        return time.perf_counter() - began, None, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - began
    wire = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    text = " ".join(p.get("text", "") for p in wire.get("content", []) if isinstance(p, dict))
    return elapsed, wire, text if wire.get("isError") else ""
