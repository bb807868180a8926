"""The upstream pool keeps its connections: many calls at once reuse them instead of reconnecting.

httpcore closes an idle connection whenever the pool holds more connections than its keep-alive limit, so
with that limit below the calls in flight, about half the requests opened a new TCP connection."""

from __future__ import annotations

import socket
import threading

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
WAIT_S = 60  # a bound on a loaded machine, not an expectation


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


def closing_server() -> tuple[socket.socket, threading.Event, list[int]]:
    """Answers one request per connection, then closes it without saying so (no ``Connection: close``)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    closed, served = threading.Event(), [0]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                served[0] += 1
            closed.set()

    threading.Thread(target=serve, daemon=True).start()
    return listener, closed, served


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """The pool's idle check (``upstream.network``) sees the hang-up, so the next request opens a new
    connection instead of failing on the dead one."""
    listener, closed, served = closing_server()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    pool = ClientPool(None, httpx_limits(ClientLimits()))
    client = pool.client("backend")
    try:
        assert (await client.get(url)).text == "ok"
        assert closed.wait(WAIT_S)  # the server has hung up on the idle connection
        for _ in range(3):
            closed.clear()
            assert (await client.get(url)).text == "ok"
            assert closed.wait(WAIT_S)
    finally:
        await pool.aclose()
        listener.close()
    assert served[0] == 4
