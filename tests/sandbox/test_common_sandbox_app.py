"""The combined sandbox app mounts RemoteOps under /remoteops/v1 (and Remote under /remote when present)."""

from __future__ import annotations

import httpx
import pytest

from ops_mcp.sandbox.app import SandboxSettings, banner, create_sandbox_app
from ops_mcp.sandbox.remoteops import SANDBOX_CREDENTIALS, RemoteOpsSandboxSettings

pytestmark = pytest.mark.anyio


async def test_mounted_remoteops_pages_work_orders() -> None:
    settings = SandboxSettings()
    settings.backends["remoteops"] = RemoteOpsSandboxSettings()
    app = create_sandbox_app(settings)
    headers = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['northwind']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sandbox") as client:
        r = await client.get("/remoteops/v1/work-orders", params={"limit": 2}, headers=headers)
        assert r.status_code == 200 and len(r.json()["data"]) == 2
        assert r.headers["link"].startswith("<http://sandbox/remoteops/v1/work-orders?")
        r = await client.get(r.headers["link"][1:].split(">")[0], headers=headers)
        assert r.status_code == 200
        assert (await client.get("/remoteops/v1/_sandbox/requests")).json()["count"] == 2
        r = await client.get("/")
        assert "remoteops" in r.json()["backends"]


def test_banner_lists_urls_and_tokens() -> None:
    text = banner("http://127.0.0.1:8900")
    assert "http://127.0.0.1:8900/remoteops/v1" in text
    assert SANDBOX_CREDENTIALS["northwind"] in text and SANDBOX_CREDENTIALS["live_example"] in text
