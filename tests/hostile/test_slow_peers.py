"""Slow and greedy network peers (issue 12, item 13): partial headers, trickled headers and bodies, huge
headers, many requests on one connection, more connections than the server allows.

Raw sockets play the attacker. The deadlines are set short in the config; a test waits for the server to
close the socket (a blocking read), never for a fixed time, and asserts what was sent and how many.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.server_http._support import connected, issue_token, serve
from tests.support.hostile import closed_by_server, raw_socket

pytestmark = pytest.mark.anyio

LIMITS = """
header_timeout_seconds = 0.5
body_timeout_seconds = 0.5
max_connections = 20
"""


def _partial_headers(base: str, path: str = "/mcp") -> socket.socket:
    sock = raw_socket(base)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {base.removeprefix('http://')}\r\nX-Slow: ".encode())
    return sock


async def _legit_call(base: str, token: str) -> None:
    async with connected(base, token, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("remote_list_timeoff", {})
    assert "remote_list_timeoff" in names and not result.is_error


async def test_partial_headers_are_timed_out_and_legitimate_calls_still_succeed(hostile_config):
    config = hostile_config(LIMITS)
    hr = issue_token(config, "hr")
    with serve(config) as served:
        slow = [_partial_headers(served.base) for _ in range(30)]
        await _legit_call(served.base, hr)
        open_now = len(served.server.server_state.connections)
        endings = [closed_by_server(sock) for sock in slow]
        await _legit_call(served.base, hr)
        for sock in slow:
            sock.close()

    assert open_now <= 20  # the cap held while 30 slow connections tried to hold it
    assert all(closed for closed, _ in endings)
    # Closed on the deadline (408), or to make room for a newer connection (408, or nothing at all when the
    # first bytes had not even arrived yet).
    answers = [sent[:12] for _, sent in endings]
    assert set(answers) <= {b"HTTP/1.1 408", b""}, answers
    assert answers.count(b"HTTP/1.1 408") >= 10


async def test_headers_trickled_byte_by_byte_still_meet_the_deadline(hostile_config):
    config = hostile_config(LIMITS)
    with serve(config) as served:
        sock = _partial_headers(served.base, "/healthz")
        sock.settimeout(0.05)
        sent, answer = 0, b""
        for _ in range(2000):  # a byte, then a short read: the read's timeout paces the trickle
            try:
                sock.sendall(b"a")
                sent += 1
                answer = sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            break  # the server answered (or closed: b"")
        sock.close()
        healthy = httpx.get(served.base + "/healthz").status_code

    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert 0 < sent < 2000
    assert healthy == 200


@pytest.mark.parametrize("path", ["/webhooks/remote", "/mcp", "/messages/?session_id=" + "0" * 32])
async def test_slow_bodies_are_timed_out(hostile_config, path):
    config = hostile_config(LIMITS)
    hr = issue_token(config, "hr")
    with serve(config) as served:
        sock = raw_socket(served.base)
        host = served.base.removeprefix("http://")
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {hr}\r\n"
                     "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                     "Content-Length: 100000\r\n\r\n{\"jsonrpc\": ".encode())
        closed, answer = closed_by_server(sock)
        sock.close()
        await _legit_call(served.base, hr)

    assert closed
    assert answer.startswith(b"HTTP/1.1 408"), answer[:120]


async def test_huge_headers_are_refused_and_the_server_carries_on(hostile_config):
    config = hostile_config(LIMITS + "max_header_bytes = 8192\n")
    hr = issue_token(config, "hr")
    with serve(config) as served:
        sock = raw_socket(served.base)
        host = served.base.removeprefix("http://")
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * 65536}\r\n\r\n".encode())
        closed, answer = closed_by_server(sock)
        sock.close()
        await _legit_call(served.base, hr)

    assert closed and answer.startswith(b"HTTP/1.1 400")


async def test_many_small_requests_on_one_connection_are_answered_in_order(hostile_config):
    config = hostile_config(LIMITS)
    hr = issue_token(config, "hr")
    with serve(config) as served:
        host = served.base.removeprefix("http://")
        sock = raw_socket(served.base)
        request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        sock.sendall(request * 200 + f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        closed, answers = closed_by_server(sock)
        sock.close()
        await _legit_call(served.base, hr)

    assert closed
    assert answers.count(b"HTTP/1.1 200 OK") == 201


async def test_when_every_connection_is_busy_a_newcomer_is_turned_away_not_queued(hostile_config):
    """Twenty open SSE streams fill a cap of twenty: the next connection gets 503 at once; one stream less and
    the server answers again."""
    config = hostile_config(LIMITS)
    hr = issue_token(config, "hr")
    with serve(config) as served:
        host = served.base.removeprefix("http://")
        streams = []
        for _ in range(20):
            sock = raw_socket(served.base)
            sock.sendall(f"GET /sse HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {hr}\r\n\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")  # busy: a response is being served
            streams.append(sock)
        newcomer = raw_socket(served.base)
        closed, answer = closed_by_server(newcomer)
        newcomer.close()
        streams.pop().close()
        after = httpx.get(served.base + "/healthz", timeout=10).status_code
        for sock in streams:
            sock.close()

    assert closed and answer.startswith(b"HTTP/1.1 503")
    assert after == 200
