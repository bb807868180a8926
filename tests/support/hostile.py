"""What the hostile tests share: raw sockets that send half a request, a gate that holds upstream calls, raw
MCP requests of both eras, and a clock the tests move by hand."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
MODERN = "2026-07-28"


def fresh_connections(**options: Any) -> httpx.Client:
    """An httpx client that opens a new connection for every request, as separate peers would — and, unlike
    ``httpx.post``, builds its TLS context (~16 ms of reading the CA bundle) once, not once per request."""
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), **options)


_PEER = fresh_connections(timeout=30)


def auth(token: str) -> dict[str, str]:
    return {**ACCEPT, "Authorization": f"Bearer {token}"}


def open_session(base: str, token: str) -> httpx.Response:
    """A handshake-era initialize: the response carries the new session's id when it is admitted."""
    return _PEER.post(base + "/mcp", json=INIT, headers=auth(token))


def legacy_call(base: str, token: str, session: str, method: str, params: dict[str, Any] | None = None,
                request_id: int = 2) -> httpx.Response:
    headers = {**auth(token), "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    return _PEER.post(base + "/mcp", json=body, headers=headers)


def initialized(base: str, token: str) -> str:
    """A ready handshake-era session id (initialize + notifications/initialized)."""
    response = open_session(base, token)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    headers = {**auth(token), "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
    _PEER.post(base + "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return session


def modern_request(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> tuple[dict, dict]:
    """(headers, body) of a 2026-07-28 request: one self-contained POST with the ``_meta`` envelope."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "hostile", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**(params or {}), "_meta": meta}}
    headers = {"mcp-protocol-version": MODERN, "mcp-method": method}
    if method == "tools/call" and params is not None:
        headers["mcp-name"] = params["name"]
    return headers, body


def sse_json(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a response, whether it came as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data: "):
            return json.loads(line[6:])
    raise AssertionError(f"no JSON-RPC message in {response.text[:200]!r}")


# -- raw sockets -------------------------------------------------------------------------------------------

def raw_socket(base: str, timeout: float = 10.0) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    return sock


def read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything the server sends until it closes the connection (socket timeout: it did not close)."""
    chunks = []
    size = 0
    while size < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def closed_by_server(sock: socket.socket) -> tuple[bool, bytes]:
    """(whether the server closed it before the socket's timeout, what it sent first)."""
    try:
        return True, read_until_closed(sock)
    except TimeoutError:
        return False, b""


# -- an upstream gate --------------------------------------------------------------------------------------

class Gate:
    """ASGI middleware in front of the embedded sandbox: requests whose path starts with ``prefix`` wait
    until ``release()``; ``wait_for(n)`` returns once ``n`` of them are waiting."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.app: Any = None
        self._open = threading.Event()
        self._arrived = threading.Condition()
        self.waiting = 0

    def wrap(self, app: Any) -> Gate:
        self.app = app
        return self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix) and not self._open.is_set():
            import anyio

            with self._arrived:
                self.waiting += 1
                self._arrived.notify_all()
            try:
                await anyio.to_thread.run_sync(self._open.wait, abandon_on_cancel=True)
            finally:
                with self._arrived:
                    self.waiting -= 1
        await self.app(scope, receive, send)

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.waiting >= count, timeout):
                raise AssertionError(f"only {self.waiting} of {count} upstream requests reached the gate")

    def release(self) -> None:
        self._open.set()


@contextmanager
def released(gate: Gate) -> Iterator[Gate]:
    try:
        yield gate
    finally:
        gate.release()


@asynccontextmanager
async def held_call(client: Any, gate: Gate, tool: str, args: dict[str, Any]) -> AsyncIterator[list[Any]]:
    """Call ``tool`` through ``client`` and hold its request at ``gate``: inside the block the request waits at
    the back end's door, unanswered; on leaving it is let through, and the list holds the call's result."""
    import anyio

    results: list[Any] = []
    with released(gate):
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                results.append(await client.call_tool(tool, args))

            tg.start_soon(call)
            await anyio.to_thread.run_sync(gate.wait_for, 1)
            yield results
            gate.release()


class ManualClock:
    """A monotonic clock the test moves: ``clock.advance(seconds)``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
