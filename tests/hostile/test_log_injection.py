"""No raw attacker text in logs (issue 12, item 18), and no log line a peer can multiply at will.

The attacker sends newlines, ESC sequences, C1 controls and line separators wherever a request carries text:
a JWT's ``kid`` (JWKS-URL mode, to ``/mcp`` and to ``/healthz``), Origin and Host headers, session ids in a
header and in a query string, webhook ids and event types. Every record the server logs (any logger, any
level) must come out as one visible line. A token sent where no credential is needed is not even looked at.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets
from tests.server_http._support import issue_token, serve
from tests.server_http.test_webhooks_receiver import REMOTE_KEY, WHSEC, remote_headers
from tests.support.hostile import INIT, auth, closed_by_server, fresh_connections, raw_socket
from tests.support.loopback import serve_app

pytestmark = pytest.mark.anyio

HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FORGED = "2026-01-01 00:00:00 INFO ops_mcp.auth: FORGED"
EVIL = [f"k1\n{FORGED}", f"k1\x1b[2J\x1b[31m{FORGED}", f"k1\u2028{FORGED}", f"k1\x9b31m{FORGED}",
        f"k1\u202e{FORGED}"]


def _assert_every_line_is_one_visible_line(records: list[logging.LogRecord]) -> None:
    formatter = logging.Formatter("%(message)s")
    for record in records:
        message = record.getMessage()
        assert not HIDDEN.search(message), (record.name, message)
        if record.exc_info:
            for line in formatter.formatException(record.exc_info).splitlines():
                assert not HIDDEN.search(line) and not line.startswith("2026-01-01"), (record.name, line)
        if record.exc_text:
            for line in record.exc_text.splitlines():
                assert not HIDDEN.search(line) and not line.startswith("2026-01-01"), (record.name, line)


@pytest.fixture
def jwks_url(hostile_config, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    fetches: list[int] = []

    async def jwks(request):
        fetches.append(1)
        return JSONResponse({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})

    with serve_app(Starlette(routes=[Route("/jwks.json", jwks)])) as base:
        config = hostile_config(extra=f"""
[server.oauth]
issuer = "https://issuer.test"
audience = "https://ops-mcp.test/mcp"
jwks_url = "{base}/jwks.json"
agent_claim = "ops_mcp_agent"
""")
        yield config, key, fetches


def _jwt(key, kid: str) -> str:
    claims = {"iss": "https://issuer.test", "aud": "https://ops-mcp.test/mcp", "sub": "u", "ops_mcp_agent": "hr",
              "exp": int(time.time()) + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_a_hostile_kid_is_never_logged_raw_and_healthz_never_verifies(jwks_url, caplog):
    config, key, fetches = jwks_url
    caplog.set_level(logging.DEBUG)
    with serve(config) as served, fresh_connections() as http:
        good = http.post(served.base + "/mcp", json=INIT, headers=auth(_jwt(key, "k1")))
        before = (len(fetches), len(caplog.records))
        health = [http.get(served.base + "/healthz", headers={"Authorization": f"Bearer {_jwt(key, kid)}"})
                  for kid in EVIL]
        health_cost = (len(fetches) - before[0],
                       [r for r in caplog.records[before[1]:] if r.name.startswith("ops_mcp.auth")])
        refused = [http.post(served.base + "/mcp", json=INIT, headers=auth(_jwt(key, kid))) for kid in EVIL]
        # Many unknown but plausible kids: the identity provider is asked again at most once a minute.
        strangers = [http.post(served.base + "/mcp", json=INIT, headers=auth(_jwt(key, secrets.token_hex(8))))
                     for _ in range(30)]
        fetched = len(fetches)

    assert good.status_code == 200
    assert [r.status_code for r in health] == [200] * len(EVIL)
    assert health_cost == (0, [])  # no JWKS lookup, no log line: the token on /healthz was not looked at
    assert [r.status_code for r in refused] == [401] * len(EVIL)
    assert [r.status_code for r in strangers] == [401] * 30
    assert fetched <= 2
    _assert_every_line_is_one_visible_line(caplog.records)
    assert not any(r.getMessage().startswith("FORGED") for r in caplog.records)


def _raw(base: str, head: bytes) -> bytes:
    sock = raw_socket(base)
    sock.sendall(head)
    _, answer = closed_by_server(sock)
    sock.close()
    return answer


async def test_peer_chosen_text_in_headers_queries_and_webhooks_is_neutralised(hostile_config, caplog):
    config = hostile_config()
    secrets_store = WebhookSecrets(load_settings(config).state_dir())
    secrets_store.put("remote", "acme", REMOTE_KEY, remote_id="cb_1", url="http://127.0.0.1/webhooks/remote")
    secrets_store.put("remoteops", "northwind", WHSEC, remote_id="whep_1", url="http://127.0.0.1/webhooks/remoteops")
    hr = issue_token(config, "hr")
    caplog.set_level(logging.DEBUG)
    forged = FORGED.encode()
    with serve(config) as served, fresh_connections() as http:
        host = served.base.removeprefix("http://").encode()
        token = f"Bearer {hr}".encode() + b"\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream"
        # Header values may carry obs-text bytes: \x85 is NEL and \x9b is CSI once decoded as Latin-1.
        answers = [
            _raw(served.base, b"POST /mcp HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: " + token +
                 b"\r\nOrigin: http://evil\x85" + forged + b"\x9b2J\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            _raw(served.base, b"POST /mcp HTTP/1.1\r\nHost: evil\x85" + forged + b"\r\nAuthorization: " + token +
                 b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            _raw(served.base, b"POST /mcp HTTP/1.1\r\nHost: " + host + b"\r\nAuthorization: " + token +
                 b"\r\nmcp-session-id: x\x85" + forged + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
            _raw(served.base, b"POST /messages/?session_id=%0A" + forged.replace(b" ", b"%20") + b"%1B%5B2J HTTP/1.1"
                 b"\r\nHost: " + host + b"\r\nAuthorization: " + token + b"\r\nContent-Length: 0\r\n"
                 b"Connection: close\r\n\r\n"),
            _raw(served.base, b"POST /webhooks/remoteops HTTP/1.1\r\nHost: " + host + b"\r\nwebhook-id: e\x85" +
                 forged + b"\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,x\r\nContent-Length: 2\r\n"
                 b"Connection: close\r\n\r\n{}"),
        ]
        body = json.dumps({"event_type": f"timeoff.requested\n{FORGED}\x1b[2J", "company_id": "c1"}).encode()
        signed = http.post(served.base + "/webhooks/remote", content=body, headers=remote_headers(REMOTE_KEY, body))
        # A tool name chosen by the agent.
        named = http.post(served.base + "/mcp", headers={**auth(hr), "mcp-protocol-version": "2026-07-28",
                                                          "mcp-method": "tools/call"},
                           json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                               "name": f"x\n{FORGED}", "arguments": {},
                               "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                         "io.modelcontextprotocol/clientInfo": {"name": "h", "version": "1"},
                                         "io.modelcontextprotocol/clientCapabilities": {}}}})

    statuses = [a.split(b" ", 2)[1] for a in answers]
    assert statuses == [b"403", b"421", b"404", b"400", b"401"]
    assert signed.status_code == 200 and named.status_code in (200, 400)
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "asyncio"))]
    assert any("Invalid Origin header" in r.getMessage() for r in ours)  # it was logged, and neutralised
    _assert_every_line_is_one_visible_line(caplog.records)


async def test_a_peer_cannot_multiply_log_lines(hostile_config, caplog):
    config = hostile_config()
    hr = issue_token(config, "hr")
    caplog.set_level(logging.INFO)
    with serve(config) as served, fresh_connections() as http:
        bad_origin = [http.post(served.base + "/mcp", json=INIT, headers={**auth(hr), "Origin": "http://evil.test"})
                      for _ in range(100)]
        bad_token = [http.post(served.base + "/mcp", json=INIT, headers=auth("omcp_" + secrets.token_hex(8)))
                     for _ in range(100)]
    by_logger: dict[str, int] = {}
    for record in caplog.records:
        by_logger[record.name] = by_logger.get(record.name, 0) + 1

    assert [r.status_code for r in bad_origin] == [403] * 100 and [r.status_code for r in bad_token] == [401] * 100
    assert by_logger.get("mcp.server.transport_security", 0) < 10
    assert by_logger.get("ops_mcp.auth", 0) < 10
