"""The HTTP server's header bound holds however the bytes arrive (``transports/connections.py``).

llhttp buffers a header line until it ends and bounds nothing itself, so a line trickled in forever must be
cut off by the raw count, and headers that arrive complete by the exact count; a request just under the
bound that arrives in pieces must not be refused. Driven read by read, as the event loop would feed the
protocol, so every case is exact rather than raced over a socket (tests/hostile/test_slow_peers.py covers
the real server over sockets).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from ops_mcp.config import ServerLimits
from ops_mcp.transports.connections import guarded_protocol

MAX_HEADER_BYTES = 8192
READ = 1024


class Transport(asyncio.Transport):
    """What the protocol writes and whether it closed the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8765)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def connection() -> tuple[Any, Transport]:
    limits = ServerLimits(max_header_bytes=MAX_HEADER_BYTES)
    protocol_class = guarded_protocol(limits)
    protocol = protocol_class(config=Config(app, lifespan="off"), server_state=ServerState(), app_state={},
                              _loop=asyncio.get_running_loop())
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def reads(data: bytes) -> list[bytes]:
    return [data[i:i + READ] for i in range(0, len(data), READ)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_header_line_that_never_ends_is_cut_off_at_the_bound_plus_one_read() -> None:
    protocol, transport = connection()
    protocol.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    fed = 0
    while not transport.closed and fed < 100 * MAX_HEADER_BYTES:
        protocol.data_received(b"a" * READ)
        fed += READ
    assert transport.closed and transport.written.startswith(b"HTTP/1.1 400")
    assert fed <= MAX_HEADER_BYTES + READ
    protocol.connection_lost(None)


@pytest.mark.anyio
async def test_headers_over_the_bound_in_one_read_are_refused() -> None:
    protocol, transport = connection()
    protocol.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n")
    assert transport.closed and transport.written.startswith(b"HTTP/1.1 400")
    protocol.connection_lost(None)


@pytest.mark.anyio
async def test_many_headers_each_small_are_counted_together() -> None:
    protocol, transport = connection()
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40) for i in range(400))  # ~20 KB in 400 short lines
    for chunk in reads(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"):
        protocol.data_received(chunk)
        if transport.closed:
            break
    assert transport.closed and transport.written.startswith(b"HTTP/1.1 400")
    protocol.connection_lost(None)


@pytest.mark.anyio
async def test_headers_just_under_the_bound_in_pieces_are_served() -> None:
    protocol, transport = connection()
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    filler = b"X-Fill: " + b"f" * (MAX_HEADER_BYTES - len(head) - 200) + b"\r\n\r\n"
    for chunk in reads(head + filler):
        protocol.data_received(chunk)
    for _ in range(20):  # let the app answer
        await asyncio.sleep(0)
    assert not transport.closed, transport.written[:200]
    assert transport.written.startswith(b"HTTP/1.1 200")
    protocol.connection_lost(None)
