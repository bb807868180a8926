"""The webhook receiver over real HTTP: signatures of both schemes, rotation, staleness, replays, duplicates,
and which agents see the stored events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time

import httpx
import pytest

from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets

from ._support import connected, issue_token, mcp_client, serve

pytestmark = pytest.mark.anyio

WHSEC = "whsec_" + base64.b64encode(b"k" * 24).decode()
REMOTE_KEY = "remote-signing-key-" + "x" * 16


def standard_headers(secret: str, event_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": event_id, "webhook-timestamp": str(stamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode(), "content-type": "application/json"}


def remote_headers(key: str, body: bytes, timestamp_ms: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    signature = hmac.new(key.encode(), body + b":" + stamp.encode(), hashlib.sha256).hexdigest()
    return {"x-remote-signature": signature, "x-remote-timestamp": stamp, "content-type": "application/json"}


def work_order_event(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": "work_order.completed",
                       "timestamp": "2026-11-23T10:00:00Z", "tenant_id": "ten_1", "livemode": False,
                       "data": {"object": {"id": "wo_123", "status": "completed"}}}).encode()


@pytest.fixture
def registered(config_path):
    state_dir = load_settings(config_path).state_dir()
    store = WebhookSecrets(state_dir)
    store.put("remoteops", "northwind", WHSEC, remote_id="whep_1", url="http://127.0.0.1/webhooks/remoteops")
    store.put("remote", "acme", REMOTE_KEY, remote_id="cb_1", url="http://127.0.0.1/webhooks/remote")
    return config_path


async def test_standard_webhooks_verified_deduplicated_and_scoped(registered, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="ops_mcp.webhooks")
    dispatch, hr = issue_token(registered, "dispatch"), issue_token(registered, "hr")
    url_path = "/webhooks/remoteops"
    with serve(registered) as served:
        url = served.base + url_path
        body = work_order_event("evt_A1")
        headers = standard_headers(WHSEC, "evt_A1", body)
        first = httpx.post(url, content=body, headers=headers)
        assert first.status_code == 200 and first.json() == {"status": "accepted"}
        # The very same signed delivery again (a retry, or a replay): acknowledged once more, not stored again.
        again = httpx.post(url, content=body, headers=headers)
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}
        # A retry of the same event (fresh timestamp and signature) is acknowledged, not stored twice.
        retry = httpx.post(url, content=body, headers=standard_headers(WHSEC, "evt_A1", body, int(time.time()) + 1))
        assert retry.status_code == 200 and retry.json() == {"status": "duplicate"}
        # Forged: signed with another secret.
        forged_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        forged = httpx.post(url, content=work_order_event("evt_F"), headers=standard_headers(
            forged_secret, "evt_F", work_order_event("evt_F")))
        assert forged.status_code == 401
        # Tampered body under a valid signature.
        tampered = httpx.post(url, content=work_order_event("evt_T").replace(b"completed", b"cancelled"),
                              headers=standard_headers(WHSEC, "evt_T", work_order_event("evt_T")))
        assert tampered.status_code == 401
        # Stale: ten minutes old (tolerance five).
        stale_body = work_order_event("evt_S")
        stale = httpx.post(url, content=stale_body,
                           headers=standard_headers(WHSEC, "evt_S", stale_body, int(time.time()) - 600))
        assert stale.status_code == 400
        # Rotation: several signatures, one valid, is accepted.
        rotated_body = work_order_event("evt_R")
        good = standard_headers(WHSEC, "evt_R", rotated_body)
        good["webhook-signature"] = standard_headers(forged_secret, "evt_R", rotated_body)["webhook-signature"] + \
            " " + good["webhook-signature"]
        assert httpx.post(url, content=rotated_body, headers=good).json() == {"status": "accepted"}
        # Malformed: missing headers, not JSON.
        assert httpx.post(url, content=body).status_code == 400
        junk = b"not json"
        assert httpx.post(url, content=junk, headers=standard_headers(WHSEC, "evt_J", junk)).status_code == 400

        async with connected(served.base, dispatch, mode="2026-07-28") as client:
            seen = (await client.call_tool("ops_list_events", {"types": ["work_order.*"]})).structured_content
        async with connected(served.base, hr, mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            hidden = (await client.call_tool("ops_list_events", {})).structured_content
        reasons = [r["reason"] for r in served.state.store.rejections()]

    assert [e["id"] for e in seen["events"]] == ["evt_R", "evt_A1"]
    assert seen["events"][1]["area"] == "remoteops.work_orders" and seen["events"][1]["tenant"] == "northwind"
    assert "ops_list_events" in names and hidden["count"] == 0  # hr reads Remote areas only
    assert len(reasons) == 5
    assert any("stale" in r for r in reasons)
    assert sum("verif" in r for r in reasons) == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "ops_mcp.webhooks"]
    assert any("stale" in m for m in logged)
    assert any("does not verify" in m or "no signature verifies" in m for m in logged)


async def test_remote_hmac_scheme(registered) -> None:
    hr = issue_token(registered, "hr")
    with serve(registered) as served:
        url = served.base + "/webhooks/remote"
        body = json.dumps({"event_type": "timeoff.approved", "company_id": "c1", "employment_id": "e1",
                           "timeoff_id": "t1"}).encode()
        headers = remote_headers(REMOTE_KEY, body)
        assert httpx.post(url, content=body, headers=headers).json() == {"status": "accepted"}
        # Remote sends no event id: the signed message is the delivery. Sent again, it is acknowledged again.
        assert httpx.post(url, content=body, headers=headers).json() == {"status": "duplicate"}
        assert httpx.post(url, content=body, headers=remote_headers("wrong-key", body)).status_code == 401
        old = int((time.time() - 400) * 1000)
        assert httpx.post(url, content=body, headers=remote_headers(REMOTE_KEY, body, old)).status_code == 400
        assert httpx.post(served.base + "/webhooks/nowhere", content=body, headers=headers).status_code == 404
        async with connected(served.base, hr, transport="sse", mode="legacy") as client:
            events = (await client.call_tool("ops_list_events", {"since": "5m"})).structured_content["events"]
    assert [(e["type"], e["area"], e["tenant"]) for e in events] == [("timeoff.approved", "remote.timeoff", "acme")]
    assert events[0]["data"]["timeoff_id"] == "t1"


async def test_unregistered_back_end_is_refused(config_path) -> None:
    with serve(config_path) as served:
        body = work_order_event("evt_X")
        response = httpx.post(served.base + "/webhooks/remoteops", content=body,
                              headers=standard_headers(WHSEC, "evt_X", body))
        assert response.status_code == 503


TIMEOFF_FEED = "ops-mcp://events/acme/remote.timeoff"


def _timeoff_delivery() -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event_type": "timeoff.requested", "company_id": "c1", "employment_id": "e1",
                       "timeoff_id": secrets.token_hex(4)}).encode()
    return body, remote_headers(REMOTE_KEY, body)


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_subscribed_clients_are_notified_both_eras(registered) -> None:
    """2026: a listen stream gets resources/updated for the agent's feed; legacy: resources/subscribe does."""
    import anyio
    from mcp.shared.subscriptions import ResourceUpdated

    hr, dispatch = issue_token(registered, "hr"), issue_token(registered, "dispatch")
    with serve(registered) as served:
        url = served.base + "/webhooks/remote"
        async with connected(served.base, hr, mode="2026-07-28") as client:
            assert TIMEOFF_FEED in {str(r.uri) for r in (await client.list_resources()).resources}
            async with client.listen(resource_subscriptions=[TIMEOFF_FEED]) as sub:
                assert sub.honored.resource_subscriptions == [TIMEOFF_FEED]
                body, headers = _timeoff_delivery()
                assert httpx.post(url, content=body, headers=headers).status_code == 200
                with anyio.fail_after(5):
                    event = await sub.__anext__()
                assert event == ResourceUpdated(uri=TIMEOFF_FEED)
            read = await client.read_resource(TIMEOFF_FEED)
            assert json.loads(read.contents[0].text)["count"] == 1

        # Another agent cannot subscribe to (or read) hr's feed: it is stripped from the listen filter.
        async with connected(served.base, dispatch, mode="2026-07-28") as client:
            async with client.listen(resource_subscriptions=[TIMEOFF_FEED]) as sub:
                assert not sub.honored.resource_subscriptions
            with pytest.raises(Exception, match="Unknown resource"):
                await client.read_resource(TIMEOFF_FEED)

        received: list[str] = []
        notified = anyio.Event()

        async def on_message(message) -> None:
            method = getattr(getattr(message, "root", message), "method", None)
            if method == "notifications/resources/updated":
                received.append(str(message.params.uri))
                notified.set()

        async with mcp_client(served.base, hr, transport="sse", mode="legacy", message_handler=on_message) as client:
            await client.session.subscribe_resource(TIMEOFF_FEED)
            body, headers = _timeoff_delivery()
            assert httpx.post(url, content=body, headers=headers).status_code == 200
            with anyio.fail_after(60):  # a bound on a hang, not a speed expectation
                await notified.wait()
        assert received == [TIMEOFF_FEED]
