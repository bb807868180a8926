"""Two ``--stateless`` replicas over one state dir serve one client alternately; OAuth resource-server mode."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ._support import ERAS, issue_token, mcp_client, serve, write_config

pytestmark = pytest.mark.anyio

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class Alternating(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica in turn, like a load balancer without stickiness."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent = 0
        self.hits: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[self.sent % len(self.ports)]
        self.sent += 1
        self.hits[port] += 1
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("mode", ERAS)
async def test_two_stateless_replicas_serve_one_client(config_path, mode: str) -> None:
    token = issue_token(config_path, "hr")
    with serve(config_path, stateless=True) as one, serve(config_path, stateless=True) as two:
        ports = [int(one.base.rsplit(":", 1)[1]), int(two.base.rsplit(":", 1)[1])]
        balancer = Alternating(ports)
        http = httpx2.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with mcp_client(one.base, token, mode=mode, http_client=http) as client:
            for _ in range(3):
                names = {t.name for t in (await client.list_tools()).tools}
                assert "remote_approve_timeoff" in names and "remoteops_list_work_orders" not in names
                result = await client.call_tool("ops_list_events", {"limit": 5})
                assert not result.is_error and result.structured_content["count"] == 0
        await http.aclose()
    assert min(balancer.hits[p] for p in ports) >= 3, balancer.hits


@pytest.fixture
def oauth_config(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    config = write_config(tmp_path, """
[server.oauth]
issuer = "https://issuer.test"
audience = "https://ops-mcp.test/mcp"
jwks_file = "jwks.json"
agent_claim = "ops_mcp_agent"
""")
    return config, key


def _jwt(key, **overrides) -> str:
    claims = {"iss": "https://issuer.test", "aud": "https://ops-mcp.test/mcp", "sub": "user-7",
              "ops_mcp_agent": "hr", "exp": int(time.time()) + 300, "iat": int(time.time())}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


async def test_jwt_resource_server_mode(oauth_config) -> None:
    config, key = oauth_config
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with serve(config) as served:
        def status(token: str) -> int:
            headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
            return httpx.post(served.base + "/mcp", json=INIT, headers=headers).status_code

        assert status(_jwt(key)) == 200
        assert status(_jwt(key, aud="https://elsewhere.test/mcp")) == 401
        assert status(_jwt(key, iss="https://evil-issuer.test")) == 401
        assert status(_jwt(key, exp=int(time.time()) - 120)) == 401
        assert status(_jwt(other_key)) == 401  # signed by a key the JWKS does not hold
        assert status(_jwt(key, ops_mcp_agent="root")) == 401  # names no configured agent
        assert status(_jwt(key, ops_mcp_agent=None)) == 401
        metadata = httpx.get(f"{served.base}/.well-known/oauth-protected-resource/mcp").json()
        assert metadata["authorization_servers"] == ["https://issuer.test"]
        # The claim picks the policy, exactly like an agent token would.
        async with mcp_client(served.base, _jwt(key, ops_mcp_agent="dispatch"), mode="2026-07-28") as client:
            names = {t.name for t in (await client.list_tools()).tools}
        assert "remoteops_list_work_orders" in names and "remote_approve_timeoff" not in names
        # Agent tokens keep working alongside (allow_agent_tokens defaults to true).
        assert status(issue_token(config, "hr")) == 200
