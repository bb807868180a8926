"""The upstream pool keeps its connections: many calls at once reuse them instead of reconnecting.

httpcore closes an idle connection whenever the pool holds more connections than its keep-alive limit, so
with that limit below the calls in flight, about half the requests opened a new TCP connection."""

from __future__ import annotations

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ops_mcp.upstream.client import ClientLimits, httpx_limits
from ops_mcp.upstream.pool import ClientPool
from tests.support.loopback import serving

pytestmark = pytest.mark.anyio

IN_FLIGHT = 32  # as many as the hosted benchmark's clients
ROUNDS = 10


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def counting_app(peers: set[tuple[str, int]]) -> Starlette:
    async def answer(request: Request) -> PlainTextResponse:
        assert request.client is not None
        peers.add((request.client.host, request.client.port))  # one client port per TCP connection
        await anyio.sleep(0)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", answer)])


async def test_calls_in_flight_reuse_their_connections() -> None:
    peers: set[tuple[str, int]] = set()
    limits = ClientLimits()
    assert limits.max_connections >= IN_FLIGHT
    pool = ClientPool(None, httpx_limits(limits))
    with serving(counting_app(peers), keep_alive_s=60) as server:
        client = pool.client("backend")
        try:

            async def caller() -> None:
                for _ in range(ROUNDS):  # back to back, as a hosted agent's calls
                    (await client.get(f"{server.url}/")).raise_for_status()

            async with anyio.create_task_group() as tasks:
                for _ in range(IN_FLIGHT):
                    tasks.start_soon(caller)
        finally:
            await pool.aclose()
    assert len(peers) <= IN_FLIGHT  # 320 requests, never more connections than were needed at once
