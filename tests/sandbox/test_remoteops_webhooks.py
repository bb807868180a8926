"""Webhooks: Standard Webhooks signatures checked by an independent verifier, rotation, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app

from .helpers_remoteops import conforms, new_work_order, ro_client

pytestmark = pytest.mark.anyio


def verify(secret: str, headers: httpx.Headers, body: bytes, tolerance: int = 300) -> bool:
    """A receiver's check, written from the Standard Webhooks spec (not from the emulator's code)."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def receiver(statuses: list[int]) -> tuple[Starlette, list[tuple[httpx.Headers, bytes]]]:
    seen: list[tuple[httpx.Headers, bytes]] = []

    async def hook(request: Request) -> Response:
        seen.append((httpx.Headers(request.headers.raw), await request.body()))
        return Response(status_code=statuses.pop(0) if statuses else 204)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), seen


async def test_signed_delivery_and_rotation() -> None:
    hook_app, seen = receiver([])
    app = create_remoteops_app(RemoteOpsSandboxSettings(webhook_transport=httpx.ASGITransport(hook_app)))
    async with ro_client(app) as client:
        r = await client.post("/webhook-endpoints", json={"url": "http://127.0.0.1:8999/hook",
                                                          "enabled_events": ["work_order.*"]})
        assert r.status_code == 201, r.text
        conforms(r, "/webhook-endpoints", "POST")
        endpoint = r.json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        listed = (await client.get("/webhook-endpoints", params={"status": "enabled"})).json()["data"]
        assert all("secret" not in e for e in listed)
        wo = await new_work_order(client)
        assert await app.state.sandbox.drain_webhooks(5)
        headers, body = seen[0]
        assert verify(secret, headers, body)
        envelope = json.loads(body)
        assert envelope["type"] == "work_order.created" and envelope["data"]["object"]["id"] == wo["id"]
        assert headers["webhook-id"] == envelope["id"] and envelope["livemode"] is False
        r = await client.patch(f"/webhook-endpoints/{endpoint['id']}", json={"rotate_secret": True})
        new_secret = r.json()["secret"]
        assert new_secret != secret and r.json()["previous_secret_expires_at"]
        await client.patch(f"/work-orders/{wo['id']}", json={"summary": "Updated"})
        assert await app.state.sandbox.drain_webhooks(5)
        headers, body = seen[-1]
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert verify(new_secret, headers, body) and verify(secret, headers, body)
        events = (await client.get("/events", params={"delivery_status": "delivered"})).json()
        assert events["data"][0]["deliveries"][0]["status"] == "delivered"


async def test_url_rules() -> None:
    app = create_remoteops_app(RemoteOpsSandboxSettings())
    async with ro_client(app) as client:
        for url in ("http://example.com/hook", "https://10.0.0.5/hook", "https://192.168.1.2/x", "ftp://x/y"):
            r = await client.post("/webhook-endpoints", json={"url": url, "enabled_events": ["*"]})
            assert r.status_code == 422, url
        r = await client.post("/webhook-endpoints", json={"url": "https://hooks.example.org/x",
                                                          "enabled_events": ["nope.event"]})
        assert r.status_code == 422
        r = await client.post("/webhook-endpoints", json={"url": "http://localhost:3000/x", "enabled_events": ["*"]})
        assert r.status_code == 201


async def test_retries_then_dead_letter_then_redeliver() -> None:
    hook_app, seen = receiver([500, 503, 500, 500])
    app = create_remoteops_app(RemoteOpsSandboxSettings(webhook_transport=httpx.ASGITransport(hook_app),
                                                        webhook_time_scale=0.0001))
    async with ro_client(app) as client:
        endpoint = (await client.post("/webhook-endpoints", json={"url": "http://127.0.0.1:8999/hook",
                                                                  "enabled_events": ["customer.created"]})).json()
        r = await client.post("/customers", json={"type": "individual", "name": "Ada Lovelace"})
        assert r.status_code == 201
        assert await app.state.sandbox.drain_webhooks(5)
        assert len(seen) == 4 and len({h["webhook-id"] for h, _ in seen}) == 1
        r = await client.get("/events", params={"delivery_status": "dead_lettered", "endpoint_id": endpoint["id"]})
        conforms(r, "/events", "GET")
        event = r.json()["data"][0]
        delivery = event["deliveries"][0]
        assert delivery["attempt_count"] == 4 and delivery["dead_lettered_at"] and delivery["last_response_status"] == 500
        r = await client.post(f"/events/{event['id']}/redeliver", json={"endpoint_id": endpoint["id"]})
        assert r.status_code == 202 and r.json()["status"] == "pending"
        conforms(r, "/events/{event_id}/redeliver", "POST")
        assert await app.state.sandbox.drain_webhooks(5)
        assert len(seen) == 5 and seen[-1][0]["webhook-id"] == event["id"]


async def test_410_disables_endpoint() -> None:
    hook_app, seen = receiver([410])
    app = create_remoteops_app(RemoteOpsSandboxSettings(webhook_transport=httpx.ASGITransport(hook_app),
                                                        webhook_time_scale=0.0001))
    async with ro_client(app) as client:
        endpoint = (await client.post("/webhook-endpoints", json={"url": "http://127.0.0.1:8999/hook",
                                                                  "enabled_events": ["*"]})).json()
        await client.post("/customers", json={"type": "individual", "name": "Grace Hopper"})
        assert await app.state.sandbox.drain_webhooks(5)
        r = await client.get("/webhook-endpoints", params={"status": "disabled"})
        disabled = {e["id"]: e for e in r.json()["data"]}
        assert disabled[endpoint["id"]]["disabled_reason"] == "endpoint_gone" and len(seen) == 1
