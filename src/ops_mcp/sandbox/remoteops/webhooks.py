"""Webhook endpoints and events (§4 #41–45)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from ops_mcp.sandbox.remoteops import signing
from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.problems import ApiError
from ops_mcp.sandbox.remoteops.store import public
from ops_mcp.sandbox.remoteops.validation import Body
from ops_mcp.sandbox.remoteops.values import iso
from ops_mcp.sandbox.remoteops.webhooks_dispatch import ROTATION_GRACE, matches, schedule
from ops_mcp.sandbox.remoteops.work_orders import check_if_match, etag, touch

EVENT_TYPES = (
    *(f"work_order.{s}" for s in ("created", "updated", "assigned", "dispatched", "started", "on_hold", "resumed",
                                  "completed", "reopened", "closed", "cancelled", "attachment_added",
                                  "signature_captured", "sla_breached")),
    "customer.created", "site.created",
    *(f"contract.{s}" for s in ("created", "updated", "renewal_upcoming", "renewed", "expired",
                                "work_orders_generated")),
    *(f"invoice.{s}" for s in ("created", "issued", "payment_recorded", "paid", "overdue", "voided")),
    "credit_note.issued",
    *(f"call.{s}" for s in ("received", "completed", "asset_matched", "routed", "transcript_ready")),
    "asset.created", "inventory.stock_moved", "inventory.low_stock",
    "equipment.checked_out", "equipment.returned", "equipment.overdue",
)
PREFIXES = tuple(sorted({t.split(".")[0] for t in EVENT_TYPES}))
DELIVERY_STATUSES = ("pending", "delivered", "retrying", "dead_lettered")
RETENTION = timedelta(days=30)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def endpoint_view(endpoint: dict[str, Any], with_secret: bool = False) -> dict[str, Any]:
    out = public(endpoint)
    out["previous_secret_expires_at"] = endpoint.get("_previous_secret_until")
    if with_secret:
        out["secret"] = endpoint["_secret"]  # shown once: on create and on rotation
    return out


def check_url(ctx: Ctx, body: Body, url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_HOSTS and ctx.state.settings.allow_loopback_webhooks
    if parts.scheme not in ("https", "http") or not host:
        body.error("url", "format", "must be an absolute https URL")
        return
    if parts.scheme == "http" and not loopback:
        body.error("url", "https-required", "must use https (the sandbox also accepts http://127.0.0.1 and "
                                            "http://localhost)")
        return
    if loopback:
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".internal", ".local")):
            body.error("url", "private-address", "must not point at a private or loopback host")
        return
    if not address.is_global:
        body.error("url", "private-address", "must not point at a private, loopback or reserved IP address")


def read_events(body: Body) -> list[str] | None:
    events = body.str_list("enabled_events", max_items=100)
    for i, name in enumerate(events or []):
        if name != "*" and name not in EVENT_TYPES and not (name.endswith(".*") and name[:-2] in PREFIXES):
            body.error(f"enabled_events/{i}", "enum", f"'{name}' is not an event type (or a 'work_order.*' pattern)")
    return events


async def list_endpoints(ctx: Ctx) -> Reply:
    status = ctx.q_str("status", ("enabled", "disabled"))
    ctx.check_query()
    rows = [e for e in ctx.tenant.col("webhook_endpoints").values() if not status or e["status"] == status]
    return list_reply(ctx, rows, view=endpoint_view)


async def create_endpoint(ctx: Ctx) -> Reply:
    body = ctx.body()
    body.only(("url", "enabled_events", "description"))
    url = body.str("url", required=True, max_len=2048)
    check_url(ctx, body, url)
    events = read_events(body)
    if events is not None and not events:
        body.error("enabled_events", "length", "must name at least one event type")
    description = body.str("description", max_len=500)
    body.done()
    endpoint = {
        "id": ctx.state.ids.new("whep"), "object": "webhook_endpoint", "url": url,
        "enabled_events": events or ["*"], "description": description, "status": "enabled",
        "disabled_reason": None, "version": 1, "_secret": signing.new_secret(ctx.state.ids.rng.randbytes(24)), "secret_rotated_at": None,
        "livemode": False, "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    }
    ctx.tenant.col("webhook_endpoints")[endpoint["id"]] = endpoint
    return Reply(endpoint_view(endpoint, with_secret=True), 201,
                 {"Location": ctx.url_for_path(f"/webhook-endpoints/{endpoint['id']}"), "ETag": etag(endpoint)})


async def update_endpoint(ctx: Ctx) -> Reply:
    endpoint = ctx.tenant.get("webhook_endpoints", ctx.pid)
    body = ctx.body()
    body.only(("url", "enabled_events", "status", "rotate_secret", "description"))
    url = body.str("url", max_len=2048)
    check_url(ctx, body, url)
    events = read_events(body)
    if events is not None and not events:
        body.error("enabled_events", "length", "must name at least one event type")
    status = body.str("status", enum=("enabled", "disabled"))
    rotate = body.bool("rotate_secret", default=False)
    description = body.str("description", max_len=500)
    body.done()
    check_if_match(ctx, endpoint)
    for name, value in (("url", url), ("enabled_events", events), ("status", status), ("description", description)):
        if value is not None:
            endpoint[name] = value
    if status is not None:
        endpoint["disabled_reason"] = None if status == "enabled" else "manual"
    if rotate:
        # The old secret keeps signing for 24 h, so receivers can roll over without losing events.
        endpoint["_previous_secret"] = endpoint["_secret"]
        endpoint["_previous_secret_until"] = iso(ctx.now + ROTATION_GRACE)
        endpoint["_secret"] = signing.new_secret(ctx.state.ids.rng.randbytes(24))
        endpoint["secret_rotated_at"] = iso(ctx.now)
    touch(ctx, endpoint)
    return Reply(endpoint_view(endpoint, with_secret=bool(rotate)), headers={"ETag": etag(endpoint)})


def event_view(event: dict[str, Any]) -> dict[str, Any]:
    return public(event)


async def list_events(ctx: Ctx) -> Reply:
    selector = ctx.q_str("type")
    if selector and not (selector == "*" or selector in EVENT_TYPES
                         or (selector.endswith(".*") and selector[:-2] in PREFIXES)):
        ctx._qerr("type", "must be an event type, a '<group>.*' wildcard or '*'")
    object_id = ctx.q_str("object_id")
    created_after = ctx.q_datetime("created_after")
    delivery_status = ctx.q_str("delivery_status", DELIVERY_STATUSES)
    endpoint_id = ctx.q_str("endpoint_id")
    ctx.check_query()
    oldest = iso(ctx.now - RETENTION)

    def keep(e: dict[str, Any]) -> bool:
        deliveries = [d for d in e["deliveries"] if not endpoint_id or d["endpoint_id"] == endpoint_id]
        return (e["timestamp"] >= oldest and (not selector or matches([selector], e["type"]))
                and (not object_id or e["data"]["object"].get("id") == object_id)
                and (not created_after or e["timestamp"] > created_after)
                and (not endpoint_id or bool(deliveries))
                and (not delivery_status or any(d["status"] == delivery_status for d in deliveries)))

    rows = [e for e in ctx.tenant.col("events").values() if keep(e)]
    return list_reply(ctx, rows, sort="-timestamp", view=event_view)


async def redeliver_event(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    event = tenant.get("events", ctx.pid)
    body = ctx.body()
    body.only(("endpoint_id",))
    endpoint_id = body.str("endpoint_id", required=True, max_len=64)
    endpoint = tenant.find("webhook_endpoints", endpoint_id) if endpoint_id else None
    if endpoint_id and endpoint is None:
        body.error("endpoint_id", "not-found", f"no webhook endpoint '{endpoint_id}'")
    body.done()
    assert endpoint is not None
    if endpoint["status"] != "enabled":
        raise ApiError(409, "invalid-transition",
                       "The endpoint is disabled; enable it first (PATCH status=enabled), then redeliver.")
    delivery = schedule(ctx.state, tenant, event, endpoint)  # a new attempt schedule, same webhook-id
    return Reply(dict(delivery), 202)


OPERATIONS = [
    Operation("GET", "/webhook-endpoints", "listWebhookEndpoints", "safe", list_endpoints),
    Operation("POST", "/webhook-endpoints", "createWebhookEndpoint", "key-optional", create_endpoint),
    Operation("PATCH", "/webhook-endpoints/{webhook_endpoint_id}", "updateWebhookEndpoint", "idempotent", update_endpoint),
    Operation("GET", "/events", "listEvents", "safe", list_events),
    Operation("POST", "/events/{event_id}/redeliver", "redeliverEvent", "idempotent", redeliver_event),
]
