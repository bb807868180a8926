"""Webhook callbacks (list per company, create, update, delete), the webhook event log (list,
replay) and the sandbox trigger. Emission and signing live in `events.py`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import (
    action_ok,
    json_body,
    paginated,
    query,
    query_bool,
    query_choice,
    require_fields,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.events import EVENT_TYPES, delivered, emit, replay
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import public

router = Router()

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


@router.op("GET", "/v1/companies/{company_id}/webhook-callbacks", "webhook:read")
async def list_callbacks(ctx: Ctx) -> Response:
    company = ctx.own_company(ctx.param("company_id"))
    callbacks = sorted(ctx.state.records("webhook_callbacks", (company["id"],)), key=lambda c: c["created_at"])
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
    # The signing key is shown once, in this response only; Remote's spec declares 200.
    return JSONResponse({"data": {"webhook_callback": {**public(callback), "signing_key": signing_key}}})


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


def _moment(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as an aware datetime (naive ones are UTC); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timestamp(ctx: Ctx, name: str) -> datetime | None:
    value = query(ctx.request, name)
    if value is None:
        return None
    moment = _moment(value)
    if moment is None:
        raise invalid_field(name, "is not a valid ISO-8601 timestamp")
    return moment


def _triggered(event: dict[str, Any]) -> datetime:
    """When a stored event was first triggered (the sandbox writes a valid timestamp on every event)."""
    moment = _moment(event["first_triggered_at"])
    assert moment is not None
    return moment


def _event_view(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return {**public(event), "successfully_delivered": delivered(ctx.state, event)}


@router.op("GET", "/v1/webhook-events", "webhook:read")
async def list_events(ctx: Ctx) -> Response:
    events = [_event_view(ctx, e) for e in ctx.state.records("webhook_events", ctx.company_ids)]
    event_type = query(ctx.request, "event_type")
    if event_type:
        events = [e for e in events if e["event_type"] == event_type]
    ok = query_bool(ctx.request, "successfully_delivered")
    if ok is not None:
        events = [e for e in events if e["successfully_delivered"] is ok]
    before, after = _timestamp(ctx, "before"), _timestamp(ctx, "after")
    if after:
        events = [e for e in events if _triggered(e) >= after]
    if before:
        events = [e for e in events if _triggered(e) <= before]
    query_choice(ctx.request, "sort_by", ("first_triggered_at",))
    order = query_choice(ctx.request, "order", ("asc", "desc")) or "desc"
    events.sort(key=lambda e: (e["first_triggered_at"], e["id"]), reverse=order == "desc")
    return paginated(ctx.request, "webhook_events", events)


@router.op("POST", "/v1/webhook-events/replay", "webhook:write")
async def replay_events(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - {"event_ids", "after", "before", "event_type", "company_id"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    own = ctx.state.records("webhook_events", (ctx.company_id,))
    if "event_ids" in body:
        ids = body["event_ids"]
        if not isinstance(ids, list) or not ids or len(ids) > 100 or not all(isinstance(i, str) for i in ids):
            raise invalid_field("event_ids", "must be a list of 1 to 100 event ids")
        by_id = {e["id"]: e for e in own}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise invalid_field("event_ids", f"unknown event ids: {', '.join(missing[:5])}")
        chosen = [by_id[i] for i in ids]
    else:
        after, before = _moment(body.get("after")), _moment(body.get("before"))
        if after is None or before is None:
            name = "after" if after is None else "before"
            raise invalid_field(name, "is required (ISO-8601) unless event_ids is given")
        if body.get("company_id") not in (None, ctx.company_id):
            raise invalid_field("company_id", "must be the token's company")
        chosen = [e for e in own if after <= _triggered(e) <= before
                  and (not body.get("event_type") or e["event_type"] == body["event_type"])]
    for event in chosen:
        await replay(ctx.state, event)
    return action_ok()
