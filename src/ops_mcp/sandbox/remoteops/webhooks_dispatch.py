"""Events (§9 envelope) and their delivery to subscribed endpoints.

Handlers call `emit`; the pipeline calls `flush` once the response is decided, so deliveries
start in background tasks only for changes that really happened.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ops_mcp.sandbox.common.delivery import DeadLetter, DeliveryAttempt, WebhookDeliverer
from ops_mcp.sandbox.remoteops import signing
from ops_mcp.sandbox.remoteops.store import PendingDelivery, RemoteOpsState, Tenant, public
from ops_mcp.sandbox.remoteops.values import iso

ROTATION_GRACE = timedelta(hours=24)


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The webhook body: the event without its delivery bookkeeping."""
    return {k: v for k, v in public(event).items() if k != "deliveries"}


def matches(enabled_events: list[str], event_type: str) -> bool:
    for pattern in enabled_events:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def emit(state: RemoteOpsState, tenant: Tenant, event_type: str, obj: dict[str, Any],
         previous: dict[str, Any] | None = None, *, snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
    now = state.clock.now()
    data: dict[str, Any] = {"object": snapshot if snapshot is not None else public(obj),
                            "previous_attributes": previous or None}
    event: dict[str, Any] = {
        "id": state.ids.new("evt"),
        "object": "event",
        "type": event_type,
        "timestamp": iso(now),
        "tenant_id": tenant.id,
        "livemode": False,
        "data": data,
        "deliveries": [],
    }
    tenant.col("events")[event["id"]] = event
    state.effects[event_type] += 1
    for endpoint in tenant.col("webhook_endpoints").values():
        if endpoint["status"] == "enabled" and matches(endpoint["enabled_events"], event_type):
            schedule(state, tenant, event, endpoint)
    return event


def schedule(state: RemoteOpsState, tenant: Tenant, event: dict[str, Any], endpoint: dict[str, Any]) -> dict[str, Any]:
    """Start a fresh attempt schedule for ``event`` to ``endpoint`` (same webhook-id on every attempt)."""
    event["deliveries"] = [d for d in event["deliveries"] if d["endpoint_id"] != endpoint["id"]]
    delivery = {
        "id": state.ids.new("dlv"), "object": "event_delivery", "event_id": event["id"],
        "endpoint_id": endpoint["id"], "status": "pending", "attempt_count": 0, "last_attempt_at": None,
        "next_attempt_at": iso(state.clock.now()), "last_response_status": None, "last_error": None,
        "dead_lettered_at": None,
    }
    event["deliveries"].append(delivery)
    state.pending_deliveries.append(PendingDelivery(tenant.id, endpoint["id"], event["id"]))
    return delivery


def active_secrets(endpoint: dict[str, Any], now: datetime) -> list[str]:
    secrets = [endpoint["_secret"]]
    previous = endpoint.get("_previous_secret")
    until = endpoint.get("_previous_secret_until")
    if previous and until and datetime.fromisoformat(until.replace("Z", "+00:00")) > now:
        secrets.append(previous)
    return secrets


def _deliverer(state: RemoteOpsState, tenant: Tenant, endpoint_id: str) -> WebhookDeliverer:
    deliverer = state.deliverers.get(endpoint_id)
    if deliverer is not None:
        return deliverer
    settings = state.settings

    def sign(body: bytes, event_id: str, timestamp: int) -> dict[str, str]:
        endpoint = tenant.col("webhook_endpoints")[endpoint_id]
        return signing.headers(active_secrets(endpoint, state.clock.now()), event_id, timestamp, body)

    def on_attempt(attempt: DeliveryAttempt) -> None:
        event = tenant.col("events").get(attempt.event_id)
        if event is None:
            return
        for row in event["deliveries"]:
            if row["endpoint_id"] == endpoint_id:
                at = iso(datetime.fromtimestamp(attempt.at, UTC))
                row["attempt_count"] += 1
                row["status"] = {"disabled": "dead_lettered"}.get(attempt.outcome, attempt.outcome)
                row["last_attempt_at"] = at
                row["last_response_status"] = attempt.status_code
                row["last_error"] = attempt.error
                row["next_attempt_at"] = (iso(datetime.fromtimestamp(attempt.next_attempt_at, UTC))
                                          if attempt.next_attempt_at else None)
                if row["status"] == "dead_lettered":
                    row["dead_lettered_at"] = at
        state.effects[f"webhook.{attempt.outcome}"] += 1

    def on_disable(url: str, context: Any) -> None:
        endpoint = tenant.col("webhook_endpoints").get(endpoint_id)
        if endpoint is not None:
            endpoint["status"] = "disabled"
            endpoint["disabled_reason"] = "endpoint_gone"  # the receiver answered 410 Gone
            endpoint["version"] = endpoint.get("version", 1) + 1
            endpoint["updated_at"] = iso(state.clock.now())

    def on_dead_letter(letter: DeadLetter) -> None:
        state.effects["webhook.dead_letter"] += 1

    deliverer = WebhookDeliverer(
        sign,
        retries=settings.webhook_retries,
        backoff_seconds=settings.webhook_backoff_seconds,
        time_scale=settings.webhook_time_scale,
        timeout=settings.webhook_timeout,
        transport=settings.webhook_transport,
        on_attempt=on_attempt,
        on_disable=on_disable,
        on_dead_letter=on_dead_letter,
        seed=settings.seed,
        clock=state.clock.time,
    )
    state.deliverers[endpoint_id] = deliverer
    return deliverer


async def flush(state: RemoteOpsState) -> None:
    pending, state.pending_deliveries = state.pending_deliveries, []
    for item in pending:
        tenant = state.tenants[item.tenant_id]
        endpoint = tenant.col("webhook_endpoints").get(item.endpoint_id)
        event = tenant.col("events").get(item.event_id)
        if endpoint is None or event is None:
            continue
        body = json.dumps(envelope(event), separators=(",", ":")).encode()
        await _deliverer(state, tenant, item.endpoint_id).deliver(
            endpoint["url"], event["id"], body, context=item.endpoint_id)
