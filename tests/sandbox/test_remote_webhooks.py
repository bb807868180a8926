"""Signed webhook deliveries (verified independently) and retry → dead letter on a tiny time scale."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.sandbox.remote_fixtures import client, make_app, manager_id, records

pytestmark = pytest.mark.anyio


def receiver(status: int = 200):
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=status)

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"])]), received


def verify(signing_key: str, headers: dict[str, str], body: bytes) -> bool:
    """Remote's scheme, written from the documentation: hex HMAC-SHA256 of body + ":" + timestamp (ms)."""
    timestamp = headers["x-remote-timestamp"]
    expected = hmac.new(signing_key.encode(), body + b":" + timestamp.encode(), hashlib.sha256).hexdigest()
    return len(timestamp) == 13 and hmac.compare_digest(expected, headers["x-remote-signature"])


async def test_time_off_approval_is_delivered_signed():
    hooks, received = receiver()
    app = make_app(webhook_transport=httpx.ASGITransport(hooks), webhook_time_scale=0.001)
    timeoff = records(app, "timeoffs", status="requested")[0]
    async with client(app) as c:
        created = await c.post("/v1/webhook-callbacks", json={
            "url": "http://receiver.test/hooks", "subscribed_events": ["timeoff.approved", "timeoff.canceled"]})
        assert created.status_code == 200  # Remote's spec declares 200
        callback = created.json()["data"]["webhook_callback"]
        key = callback["signing_key"]
        acme_id = app.state.sandbox.company_by_slug("acme")["id"]
        listed = (await c.get(f"/v1/companies/{acme_id}/webhook-callbacks")).json()["data"]
        assert listed[0]["id"] == callback["id"] and "signing_key" not in listed[0]
        duplicate = await c.post("/v1/webhook-callbacks", json={"url": "http://receiver.test/hooks",
                                                                "subscribe_to_all_events": True})
        assert duplicate.status_code == 409
        await c.post(f"/v1/timeoff/{timeoff['id']}/approve", json={"approver_id": manager_id(app)})
        await c.patch(f"/v1/timeoff/{timeoff['id']}",
                      json={"notes": "x", "edit_reason": "y", "cancel_reason": ""})  # not subscribed
        assert await app.state.sandbox.deliverer.drain(5)
    assert len(received) == 1
    headers, body = received[0]
    assert verify(key, headers, body)
    assert not verify("wrong-key", headers, body)
    assert json.loads(body) == {"event_type": "timeoff.approved", "company_id": timeoff["_company_id"],
                                "employment_id": timeoff["employment_id"], "timeoff_id": timeoff["id"]}


async def test_sandbox_trigger_and_unsubscribe():
    hooks, received = receiver()
    app = make_app(webhook_transport=httpx.ASGITransport(hooks))
    employment = records(app, "employments", status="active")[0]["id"]
    async with client(app) as c:
        callback = (await c.post("/v1/webhook-callbacks", json={"url": "http://receiver.test/hooks",
                                                                "subscribe_to_all_events": True})).json()
        callback_id = callback["data"]["webhook_callback"]["id"]
        ok = await c.post("/v1/sandbox/webhook-callbacks/trigger",
                          json={"employment_id": employment, "event_type": "employment.onboarding.completed"})
        assert ok.json() == {"data": {"status": "ok"}}
        bad = await c.post("/v1/sandbox/webhook-callbacks/trigger",
                           json={"employment_id": employment, "event_type": "nope.nope"})
        assert bad.status_code == 422
        updated = await c.patch(f"/v1/webhook-callbacks/{callback_id}",
                                json={"subscribe_to_all_events": False, "subscribed_events": ["timesheet.submitted"]})
        assert updated.json()["data"]["webhook_callback"]["subscribed_events"] == ["timesheet.submitted"]
        await c.post("/v1/sandbox/webhook-callbacks/trigger",
                     json={"employment_id": employment, "event_type": "employment.updated"})
        assert (await c.delete(f"/v1/webhook-callbacks/{callback_id}")).json() == {"data": {"status": "ok"}}
        assert (await c.delete(f"/v1/webhook-callbacks/{callback_id}")).status_code == 404
        await app.state.sandbox.deliverer.drain(5)
    assert [json.loads(body)["event_type"] for _h, body in received] == ["employment.onboarding.completed"]


async def test_failing_receiver_is_retried_then_dead_lettered():
    hooks, received = receiver(status=500)
    app = make_app(webhook_transport=httpx.ASGITransport(hooks), webhook_time_scale=0.0001)
    employment = records(app, "employments", status="active")[0]["id"]
    async with client(app) as c:
        await c.post("/v1/webhook-callbacks", json={"url": "http://receiver.test/hooks",
                                                    "subscribe_to_all_events": True})
        await c.post("/v1/sandbox/webhook-callbacks/trigger",
                     json={"employment_id": employment, "event_type": "employment.updated"})
        deliverer = app.state.sandbox.deliverer
        assert await deliverer.drain(10)
    assert len(received) == 4  # first attempt + 3 retries
    assert [a.outcome for a in deliverer.attempts] == ["retrying", "retrying", "retrying", "dead_lettered"]
    assert len(deliverer.dead_letters) == 1 and deliverer.dead_letters[0].last_status_code == 500
