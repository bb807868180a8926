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
