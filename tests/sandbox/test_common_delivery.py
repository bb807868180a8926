"""WebhookDeliverer: retries with backoff, 410 disabling, Retry-After and dead letters."""

from __future__ import annotations

import httpx
import pytest

from ops_mcp.sandbox.common import WebhookDeliverer

pytestmark = pytest.mark.anyio


def sign(body: bytes, event_id: str, timestamp: int) -> dict[str, str]:
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": "v1,x"}


def receiver(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses.pop(0) if statuses else 200
        headers = {"retry-after": "2"} if status == 429 else {}
        return httpx.Response(status, headers=headers)

    return httpx.MockTransport(handle)


async def test_first_attempt_success() -> None:
    seen: list[httpx.Request] = []
    d = WebhookDeliverer(sign, transport=receiver([200], seen), time_scale=0.0001)
    await d.deliver("http://hook.test/x", "evt_1", b"{}")
    assert await d.drain(2)
    assert [a.outcome for a in d.attempts] == ["delivered"]
    assert seen[0].headers["webhook-id"] == "evt_1"


async def test_retries_then_dead_letter_with_stable_id() -> None:
    seen: list[httpx.Request] = []
    d = WebhookDeliverer(sign, transport=receiver([500, 503, 429, 500], seen), time_scale=0.0001)
    await d.deliver("http://hook.test/x", "evt_2", b"{}", context="whep_1")
    assert await d.drain(5)
    assert [a.outcome for a in d.attempts] == ["retrying", "retrying", "retrying", "dead_lettered"]
    assert {r.headers["webhook-id"] for r in seen} == {"evt_2"} and len(seen) == 4
    assert d.dead_letters[0].event_id == "evt_2" and d.dead_letters[0].context == "whep_1"
    # Retry-After: 2 (scaled) outweighs the 25-minute-step backoff only when larger; still recorded.
    assert d.attempts[2].next_attempt_at is not None


async def test_410_disables_and_stops() -> None:
    seen: list[httpx.Request] = []
    disabled: list[tuple[str, object]] = []
    d = WebhookDeliverer(sign, transport=receiver([410], seen), time_scale=0.0001,
                         on_disable=lambda url, ctx: disabled.append((url, ctx)))
    await d.deliver("http://hook.test/gone", "evt_3", b"{}", context="whep_9")
    assert await d.drain(2)
    assert len(seen) == 1 and disabled == [("http://hook.test/gone", "whep_9")]


async def test_network_errors_count_as_failures() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    d = WebhookDeliverer(sign, transport=httpx.MockTransport(boom), retries=1, time_scale=0.0001)
    await d.deliver("http://hook.test/x", "evt_4", b"{}")
    assert await d.drain(2)
    assert [a.status_code for a in d.attempts] == [None, None]
    assert "ConnectError" in (d.dead_letters[0].last_error or "")
