"""The HTTP/1.1 transport to real back ends (``upstream/http1.py``), against servers that misbehave on purpose.

Each server here is a plain socket in a thread, so a test says byte for byte what the back end sends:
chunked and close-delimited bodies, interim answers, gzip, hang-ups, silence, garbage, TLS.
"""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from ops_mcp.upstream.client import ClientLimits, httpx_limits
from ops_mcp.upstream.http1 import Http1Transport
from ops_mcp.upstream.network import httpx_transport, network_transport, verifying_tls
from ops_mcp.upstream.pool import ClientPool

pytestmark = pytest.mark.anyio

WAIT_S = 60  # a bound on a loaded machine, not an expectation
LIMITS = httpx_limits(ClientLimits())

Handler = Callable[[socket.socket, bytes], bool]  # (connection, request) -> keep the connection open?


@pytest.fixture(params=[pytest.param(("asyncio", {}), id="asyncio"),
                        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    """Both loops a server may run on: asyncio's own, and uvloop (which uvicorn picks when it is installed)."""
    return request.param  # type: ignore[no-any-return]


class RawServer:
    """Accepts connections; for each request read, calls ``handler`` with the request's bytes."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.accepted = 0
        self.hung_up = 0  # connections the client closed
        self.requests: list[bytes] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            with conn:
                while (request := read_request(conn)) is not None:
                    self.requests.append(request)
                    if not self.handler(conn, request):
                        return
                self.hung_up += 1
        except (OSError, ssl.SSLError):
            return

    def close(self) -> None:
        self.listener.close()


def read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@contextmanager
def raw_server(handler: Handler, tls: ssl.SSLContext | None = None) -> Iterator[RawServer]:
    server = RawServer(handler, tls)
    try:
        yield server
    finally:
        server.close()


def answer(body: bytes = b"ok", *, status: str = "200 OK", headers: bytes = b"") -> Handler:
    def handle(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 " + status.encode() + b"\r\ncontent-length: %d\r\n" % len(body) + headers + b"\r\n" + body)
        return True

    return handle


def replying(wire: bytes) -> Handler:
    """Sends ``wire`` as it is, for every request, and keeps the connection."""

    def handle(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(wire)
        return True

    return handle


def transport(limits: httpx.Limits = LIMITS, tls: Callable[[], ssl.SSLContext] = verifying_tls) -> Http1Transport:
    return Http1Transport(limits, tls, lambda: httpx_transport(limits))


def client(t: httpx.AsyncBaseTransport, **options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=t, **options)  # type: ignore[arg-type]


async def test_sequential_requests_share_one_connection() -> None:
    with raw_server(answer(b'{"n": 1}', headers=b"content-type: application/json\r\n")) as server:
        async with client(transport()) as c:
            for _ in range(5):
                response = await c.get(f"{server.url}/items?page=2&q=a%20b")
                assert response.status_code == 200 and response.json() == {"n": 1}
                assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"
    assert server.accepted == 1
    assert server.requests[0].startswith(b"GET /items?page=2&q=a%20b HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:%d\r\n" % server.port in server.requests[0].lower()


async def test_calls_in_flight_get_a_connection_each_and_then_reuse_them() -> None:
    in_flight = 8
    barrier = threading.Barrier(in_flight, timeout=WAIT_S)

    def handle(conn: socket.socket, request: bytes) -> bool:
        if b"/first" in request:
            barrier.wait()  # every first request is in flight at once
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        return True

    with raw_server(handle) as server:
        async with client(transport()) as c:

            async def caller() -> None:
                assert (await c.get(f"{server.url}/first")).text == "ok"
                for _ in range(3):
                    assert (await c.get(f"{server.url}/again")).text == "ok"

            async with anyio.create_task_group() as tasks:
                for _ in range(in_flight):
                    tasks.start_soon(caller)
    assert server.accepted == in_flight
    assert len(server.requests) == in_flight * 4


async def test_chunked_and_gzip_bodies_are_assembled_and_decoded() -> None:
    payload = json.dumps({"items": list(range(2000))}).encode()
    packed = gzip.compress(payload)
    chunks = [packed[i:i + 1000] for i in range(0, len(packed), 1000)]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"

    def handle(conn: socket.socket, request: bytes) -> bool:
        head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-encoding: gzip\r\n\r\n"
        for i in range(0, len(wire), 700):  # the chunks split across writes, as a network splits them
            conn.sendall((head if i == 0 else b"") + wire[i:i + 700])
        return True

    with raw_server(handle) as server:
        async with client(transport()) as c:
            response = await c.get(server.url)
            assert response.json() == {"items": list(range(2000))}
            assert (await c.get(server.url)).content == payload  # the connection stayed usable
    assert server.accepted == 1


async def test_a_body_delimited_by_the_server_closing_is_read_to_the_end() -> None:
    def handle(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ")
        conn.sendall(b"part two")
        conn.shutdown(socket.SHUT_WR)
        return False

    with raw_server(handle) as server:
        async with client(transport()) as c:
            assert (await c.get(server.url)).text == "part one, part two"
            assert (await c.get(server.url)).text == "part one, part two"  # a new connection
    assert server.accepted == 2


async def test_an_interim_answer_is_skipped_for_the_real_one() -> None:
    interim_then_real = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone"
    with raw_server(replying(interim_then_real)) as server:
        async with client(transport()) as c:
            response = await c.post(server.url, json={"a": 1})
    assert (response.status_code, response.text) == (201, "done")


async def test_no_content_answers_keep_the_connection() -> None:
    with raw_server(replying(b"HTTP/1.1 204 No Content\r\n\r\n")) as server:
        async with client(transport()) as c:
            for _ in range(3):
                assert (await c.delete(f"{server.url}/x/1")).status_code == 204
    assert server.accepted == 1
    assert server.requests[0].startswith(b"DELETE /x/1 HTTP/1.1\r\n")


async def test_request_bodies_arrive_whole_with_their_length() -> None:
    upload = bytes(range(256)) * 8192  # 2 MiB: more than the socket buffers, so writing waits for the reader
    with raw_server(answer(b"x" * (3 << 20))) as server:
        async with client(transport()) as c:
            response = await c.post(server.url, json={"name": "Ana", "note": "é"})
            assert len(response.content) == 3 << 20
            await c.post(server.url, files={"file": ("payslip.pdf", upload, "application/pdf")})
    json_request, multipart_request = server.requests
    head, _, body = json_request.partition(b"\r\n\r\n")
    assert json.loads(body) == {"name": "Ana", "note": "é"}
    assert b"content-length: %d" % len(body) in head.lower()
    head, _, body = multipart_request.partition(b"\r\n\r\n")
    assert upload in body and b"content-length: %d" % len(body) in head.lower()
    assert b"transfer-encoding" not in head.lower()


async def test_a_header_that_could_split_the_request_is_refused_before_anything_is_sent() -> None:
    with raw_server(answer()) as server:
        async with client(transport()) as c:
            with pytest.raises(httpx.LocalProtocolError, match="character HTTP does not allow"):
                await c.get(server.url, headers={"x-note": "a\r\nx-injected: 1"})
            assert (await c.get(server.url)).text == "ok"
    assert len(server.requests) == 1 and b"x-injected" not in server.requests[0]


async def test_a_garbled_answer_is_a_protocol_error_and_the_connection_is_dropped() -> None:
    answers = iter([b"HTTP/1.1 2OO OK\r\n\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"])

    def handle(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(next(answers))
        return True

    with raw_server(handle) as server:
        async with client(transport()) as c:
            with pytest.raises(httpx.RemoteProtocolError, match="malformed HTTP response"):
                await c.get(server.url)
            assert (await c.get(server.url)).text == "ok"
    assert server.accepted == 2


async def test_a_hang_up_before_the_answer_is_a_protocol_error() -> None:
    with raw_server(lambda conn, request: False) as server:  # reads the request, closes without a word
        async with client(transport()) as c:
            with pytest.raises(httpx.RemoteProtocolError, match="without a complete answer"):
                await c.get(server.url)


async def test_silence_is_a_read_timeout() -> None:
    release = threading.Event()

    def handle(conn: socket.socket, request: bytes) -> bool:
        release.wait(WAIT_S)
        return False

    with raw_server(handle) as server:
        async with client(transport(), timeout=httpx.Timeout(5.0, read=0.2)) as c:
            try:
                with pytest.raises(httpx.ReadTimeout):
                    await c.get(server.url)
            finally:
                release.set()


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed below: nothing listens there
    async with client(transport()) as c:
        with pytest.raises(httpx.ConnectError, match=f"127.0.0.1:{port}"):
            await c.get(f"http://127.0.0.1:{port}/")


async def test_a_call_waits_for_a_free_connection_up_to_the_pool_timeout() -> None:
    release = threading.Event()

    def handle(conn: socket.socket, request: bytes) -> bool:
        release.wait(WAIT_S)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        return True

    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with raw_server(handle) as server:
        async with client(transport(one), timeout=httpx.Timeout(WAIT_S, pool=0.1)) as c:
            results: list[str] = []

            async def holder() -> None:
                results.append((await c.get(server.url)).text)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(holder)
                await wait_until(lambda: len(server.requests) == 1)
                with pytest.raises(httpx.PoolTimeout):
                    await c.get(server.url)
                release.set()
            assert results == ["ok"]
            assert (await c.get(server.url)).text == "ok"
    assert server.accepted == 1


async def test_a_call_cancelled_mid_answer_does_not_leave_its_connection_for_the_next() -> None:
    def handle(conn: socket.socket, request: bytes) -> bool:
        if b"/slow" in request:
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")  # and never the rest
            return True
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        return True

    with raw_server(handle) as server:
        async with client(transport()) as c:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(c.get, f"{server.url}/slow")
                await wait_until(lambda: len(server.requests) == 1)
                tasks.cancel_scope.cancel()
            await wait_until(lambda: server.hung_up == 1)  # closed, not left open for nobody
            assert (await c.get(f"{server.url}/fast")).text == "ok"  # not the rest of the slow answer
    assert server.accepted == 2


async def test_head_requests_go_through_httpx_own_transport() -> None:
    used: list[str] = []

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            used.append(request.method)
            return httpx.Response(200, headers={"content-length": "5"})

    t = Http1Transport(LIMITS, verifying_tls, Recording)
    async with client(t) as c:
        assert (await c.head("http://127.0.0.1:9/")).status_code == 200
    assert used == ["HEAD"]


def test_a_transport_serves_one_event_loop_after_another() -> None:
    """A CLI command may run ``anyio.run`` more than once with one runtime: the pool starts over."""
    with raw_server(answer()) as server:
        t = transport()

        async def one_call() -> str:
            return (await client(t).get(server.url)).text

        assert anyio.run(one_call) == "ok"
        assert anyio.run(one_call) == "ok"


async def test_https_verifies_the_server_certificate(tmp_path: Path) -> None:
    server_tls, trusting = self_signed_pair(tmp_path)
    with raw_server(answer(b"secure"), tls=server_tls) as server:
        async with client(transport(tls=lambda: trusting)) as c:
            assert (await c.get(server.url)).text == "secure"
            assert (await c.get(server.url)).text == "secure"
        async with client(transport()) as c:  # the system's CA bundle does not know this certificate
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await c.get(server.url)
    assert server.accepted == 2


def test_the_pool_uses_it_unless_the_environment_names_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(network_transport(LIMITS), Http1Transport)
    assert isinstance(ClientPool(None, LIMITS).client("a")._transport, Http1Transport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert isinstance(network_transport(LIMITS), httpx.AsyncHTTPTransport)
    pooled = ClientPool(None, LIMITS).client("b")
    assert not isinstance(pooled._transport, Http1Transport)
    assert any(mount is not None for mount in pooled._mounts.values())  # httpx's proxy, from the environment


async def wait_until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(WAIT_S):
        while not condition():
            await anyio.sleep(0.005)


def self_signed_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(the server's context, a client context that trusts only that server's certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    return server, trusting
