"""Helpers for the Remote emulator tests (imported by test_remote_*.py; conftest.py is shared)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from ops_mcp.sandbox.common import ManualClock
from ops_mcp.sandbox.remote import SANDBOX_CREDENTIALS, RemoteSandboxSettings, create_remote_app

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


def make_app(**settings: Any):
    """An app on a manual clock fixed at NOW (tests move it with `app.state.sandbox.settings.clock`)."""
    settings.setdefault("clock", ManualClock(NOW))
    return create_remote_app(RemoteSandboxSettings(**settings))


def bearer(name_or_token: str) -> dict[str, str]:
    token = SANDBOX_CREDENTIALS.get(name_or_token, name_or_token)
    return {"Authorization": f"Bearer {token}"}


def client(app, token: str | None = "acme") -> httpx.AsyncClient:
    headers = bearer(token) if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://remote.test", headers=headers)


def records(app, collection: str, company: str = "acme", **where: Any) -> list[dict[str, Any]]:
    """Seeded records of a company matching `where` (read straight from the state, for picking ids)."""
    state = app.state.sandbox
    company_id = state.company_by_slug(company)["id"]
    return [r for r in state.data[collection].values()
            if r.get("_company_id") == company_id and all(r.get(k) == v for k, v in where.items())]


def manager_id(app, company: str = "acme") -> str:
    return records(app, "managers", company)[0]["user_id"]


# -- partner OAuth helpers ---------------------------------------------------------------------------------
PARTNER = (SANDBOX_CREDENTIALS["partner_client_id"], SANDBOX_CREDENTIALS["partner_client_secret"])
LIMITED = (SANDBOX_CREDENTIALS["limited_partner_client_id"], SANDBOX_CREDENTIALS["limited_partner_client_secret"])
LOOPBACK = "http://127.0.0.1:8765/callback"


def basic_auth(partner: tuple[str, str]) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{partner[0]}:{partner[1]}".encode()).decode()}


async def token_request(c: httpx.AsyncClient, form: dict[str, str], partner: tuple[str, str] = PARTNER) -> httpx.Response:
    return await c.post("/auth/oauth2/token", data=form, headers=basic_auth(partner))


async def client_credentials_token(c: httpx.AsyncClient, partner: tuple[str, str] = PARTNER) -> str:
    response = await token_request(c, {"grant_type": "client_credentials"}, partner)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def authorization_code(app, c: httpx.AsyncClient, company: str = "acme", partner: tuple[str, str] = PARTNER,
                             redirect_uri: str = LOOPBACK, state: str = "st-1", scope: str | None = None) -> str:
    """Run the consent step as the company admin would (POST of the consent form); the code."""
    company_id = app.state.sandbox.company_by_slug(company)["id"]
    form = {"client_id": partner[0], "redirect_uri": redirect_uri, "state": state, "response_type": "code",
            "company_id": company_id, "decision": "approve"}
    if scope:
        form["scope"] = scope
    response = await c.post("/auth/oauth2/authorize", data=form)
    assert response.status_code == 302, response.text
    from urllib.parse import parse_qs, urlparse

    location = urlparse(response.headers["location"])
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


async def company_token(app, c: httpx.AsyncClient, company: str = "acme", partner: tuple[str, str] = PARTNER,
                        scope: str | None = None) -> dict[str, Any]:
    """A partner token for one company from the authorization-code flow (the token response)."""
    code = await authorization_code(app, c, company, partner, scope=scope)
    response = await token_request(c, {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK},
                                   partner)
    assert response.status_code == 200, response.text
    return response.json()
