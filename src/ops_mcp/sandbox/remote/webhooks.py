"""Webhook callbacks (CRUD + sandbox trigger) and signed delivery of events.

Delivery body: flat JSON with ids only, e.g. `{"event_type":"timeoff.approved","company_id":…,
"employment_id":…,"timeoff_id":…}`. Headers: `X-Remote-Timestamp` (Unix ms) and
`X-Remote-Signature` = lowercase hex HMAC-SHA256(signing_key, raw_body + ":" + timestamp).
Retries and dead letters come from `common.delivery.WebhookDeliverer`, created lazily because
in-process ASGI apps run no lifespan.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlparse

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.common import WebhookDeliverer
from ops_mcp.sandbox.remote.envelopes import action_ok, json_body, require_fields
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import RemoteState, public

router = Router()

EVENT_TYPES = (
    "employment.updated", "employment.details.updated", "employment.status.updated",
    "employment.user_status.invited", "employment.onboarding.completed",
    "contract_amendment.submitted", "contract_amendment.review_started", "contract_amendment.done",
    "contract_amendment.canceled",
    "timeoff.requested", "timeoff.approved", "timeoff.declined", "timeoff.canceled",
    "timeoff.cancellation_requested", "timeoff.updated", "timeoff.date_changed", "timeoff.taken",
    "timesheet.submitted", "timesheet.in_calibration",
    "company.activated", "company.manager_created",
    "contractor_invoice.issued", "contractor_invoice.paid_out", "billing_document.issued", "payslip.released",
)


def sign(signing_key: str, body: bytes, timestamp_ms: str) -> str:
    return hmac.new(signing_key.encode(), body + b":" + timestamp_ms.encode(), hashlib.sha256).hexdigest()


def deliverer_for(state: RemoteState) -> WebhookDeliverer:
    """The state's deliverer, created on first use (needs no running loop until `deliver`)."""
    if state.deliverer is None:
        settings = state.settings

        def signer(body: bytes, event_id: str, _timestamp: int) -> dict[str, str]:
            # Remote's timestamp is in milliseconds; the shared deliverer passes seconds.
            timestamp_ms = str(int(settings.clock.time() * 1000))
            key = state.delivery_keys.get(event_id, "")
            return {"X-Remote-Timestamp": timestamp_ms, "X-Remote-Signature": sign(key, body, timestamp_ms)}

        state.deliverer = WebhookDeliverer(
            signer, retries=settings.webhook_retries, backoff_seconds=settings.webhook_backoff_seconds,
            time_scale=settings.webhook_time_scale, timeout=settings.webhook_timeout,
            transport=settings.webhook_transport, seed=settings.seed, clock=settings.clock.time,
        )
    return state.deliverer


def _subscribed(callback: dict[str, Any], event_type: str) -> bool:
    return bool(callback.get("subscribe_to_all_events")) or event_type in (callback.get("subscribed_events") or [])


async def emit(state: RemoteState, event_type: str, company_id: str, ids: dict[str, str]) -> int:
    """Deliver `event_type` to every subscribed callback of the company; returns how many."""
    payload = {"event_type": event_type, "company_id": company_id, **ids}
    body = json.dumps(payload, separators=(",", ":")).encode()
    state.counters["webhook_events"] += 1
    sent = 0
    for callback in list(state.data["webhook_callbacks"].values()):
        if callback["_company_id"] != company_id or not _subscribed(callback, event_type):
            continue
        event_id = state.new_id()
        state.delivery_keys[event_id] = callback["_signing_key"]
        state.events.append({"event_id": event_id, "event_type": event_type, "payload": payload,
                             "callback_id": callback["id"], "url": callback["url"]})
        await deliverer_for(state).deliver(callback["url"], event_id, body, context=callback["id"])
        state.counters["webhook_deliveries"] += 1
        sent += 1
    return sent


def _check(ctx: Ctx, body: dict[str, Any], company_id: str, exclude: str | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if "url" in body:
        url = body["url"]
        parsed = urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors["url"] = ["must be an http(s) URL"]
    if "subscribed_events" in body:
        events = body["subscribed_events"]
        if not isinstance(events, list) or any(e not in EVENT_TYPES for e in events):
            errors["subscribed_events"] = ["contains unknown event types"]
    if "subscribe_to_all_events" in body and not isinstance(body["subscribe_to_all_events"], bool):
        errors["subscribe_to_all_events"] = ["is invalid"]
    unknown = sorted(set(body) - {"url", "subscribed_events", "subscribe_to_all_events", "company_id"})
    for name in unknown:
        errors[name] = ["is not a permitted field"]
    if errors:
        raise invalid(errors)
    if "url" in body and any(c["_company_id"] == company_id and c["url"] == body["url"] and c["id"] != exclude
                             for c in ctx.state.data["webhook_callbacks"].values()):
        raise conflict("A webhook callback with this URL already exists")


@router.op("GET", "/v1/webhook-callbacks", "webhook:read")
async def list_callbacks(ctx: Ctx) -> Response:
    callbacks = sorted(ctx.state.records("webhook_callbacks", ctx.company_ids), key=lambda c: c["created_at"])
    return JSONResponse({"data": [public(c) for c in callbacks]})


@router.op("POST", "/v1/webhook-callbacks", "webhook:write")
async def create_callback(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "url")
    company_id = ctx.acting_company(body)
    _check(ctx, body, company_id)
    if not body.get("subscribe_to_all_events") and not body.get("subscribed_events"):
        raise invalid_field("subscribed_events", "can't be blank unless subscribe_to_all_events is true")
    state = ctx.state
    signing_key = secrets.token_hex(32)
    callback = {
        "id": state.new_id(), "url": body["url"], "subscribed_events": list(body.get("subscribed_events") or []),
        "subscribe_to_all_events": bool(body.get("subscribe_to_all_events")), "created_at": state.now_iso(),
        "_company_id": company_id, "_signing_key": signing_key,
    }
    state.data["webhook_callbacks"][callback["id"]] = callback
    # The signing key is shown once, in this response only.
    return JSONResponse({"data": {"webhook_callback": {**public(callback), "signing_key": signing_key}}},
                        status_code=201)


@router.op("PATCH", "/v1/webhook-callbacks/{id}", "webhook:write")
async def update_callback(ctx: Ctx) -> Response:
    callback = ctx.get("webhook_callbacks", ctx.param("id"), "Webhook callback")
    body = await json_body(ctx.request)
    _check(ctx, body, callback["_company_id"], exclude=callback["id"])
    for name in ("url", "subscribed_events", "subscribe_to_all_events"):
        if name in body:
            callback[name] = body[name]
    return JSONResponse({"data": {"webhook_callback": public(callback)}})


@router.op("DELETE", "/v1/webhook-callbacks/{id}", "webhook:write")
async def delete_callback(ctx: Ctx) -> Response:
    callback = ctx.get("webhook_callbacks", ctx.param("id"), "Webhook callback")
    del ctx.state.data["webhook_callbacks"][callback["id"]]
    return action_ok()


@router.op("POST", "/v1/sandbox/webhook-callbacks/trigger", "webhook:write")
async def trigger(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "event_type")
    unknown = sorted(set(body) - {"employment_id", "event_type"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if body["event_type"] not in EVENT_TYPES:
        raise invalid_field("event_type", "is not a known event type")
    if not isinstance(body["employment_id"], str):
        raise invalid_field("employment_id", "is invalid")
    employment = ctx.get("employments", body["employment_id"], "Employment")
    await emit(ctx.state, body["event_type"], employment["_company_id"], {"employment_id": employment["id"]})
    return action_ok()
