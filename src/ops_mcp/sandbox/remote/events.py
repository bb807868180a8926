"""Webhook events: emitting them to subscribed callbacks, signing, and the event log.

Delivery body: flat JSON with ids only, e.g. `{"event_type":"timeoff.approved","company_id":…,
"employment_id":…,"timeoff_id":…}`. Headers: `X-Remote-Timestamp` (Unix ms) and
`X-Remote-Signature` = lowercase hex HMAC-SHA256(signing_key, raw_body + ":" + timestamp).
Retries and dead letters come from `common.delivery.WebhookDeliverer`, created lazily because
in-process ASGI apps run no lifespan.

Every emission that has at least one subscribed callback is logged in `webhook_events` (listed by
GET /v1/webhook-events and replayed by POST /v1/webhook-events/replay). Handlers reach `emit`
through `routing.Ctx`; this module imports nothing from the routing layer (data flows one way).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ops_mcp.sandbox.common import WebhookDeliverer
from ops_mcp.sandbox.remote.store import RemoteState

EVENT_TYPES = (
    "employment.updated", "employment.details.updated", "employment.status.updated",
    "employment.user_status.invited", "employment.onboarding.completed", "employment.onboarding.cancelled",
    "employment.probation_period_extension.submitted", "employment.probation_completion_letter.submitted",
    "contract_amendment.submitted", "contract_amendment.review_started", "contract_amendment.done",
    "contract_amendment.canceled",
    "timeoff.requested", "timeoff.approved", "timeoff.declined", "timeoff.canceled",
    "timeoff.cancellation_requested", "timeoff.updated", "timeoff.date_changed", "timeoff.taken",
    "timesheet.submitted", "timesheet.in_calibration",
    "company.activated", "company.manager_created", "company.manager_deleted",
    "contractor_invoice.issued", "contractor_invoice.paid_out", "billing_document.issued", "payslip.released",
    "expense.submitted", "expense.approved", "expense.declined", "expense.updated", "expense.reimbursed",
    "incentive.created", "incentive.updated", "incentive.deleted", "incentive.paid",
    "offboarding.submitted", "offboarding.review_started", "offboarding.done", "offboarding.completed",
    "custom_field.value_updated",
    "work_authorization.requested", "work_authorization.approved_by_manager",
    "work_authorization.declined_by_manager", "travel_letter.requested", "travel_letter.approved_by_manager",
    "travel_letter.declined_by_manager",
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


def subscribed(callback: dict[str, Any], event_type: str) -> bool:
    return bool(callback.get("subscribe_to_all_events")) or event_type in (callback.get("subscribed_events") or [])


async def _deliver(state: RemoteState, event_type: str, company_id: str, payload: dict[str, Any]) -> list[str]:
    """Send `payload` to every subscribed callback of the company; the delivery ids."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery_ids = []
    for callback in list(state.data["webhook_callbacks"].values()):
        if callback["_company_id"] != company_id or not subscribed(callback, event_type):
            continue
        delivery_id = state.new_id()
        state.delivery_keys[delivery_id] = callback["_signing_key"]
        state.events.append({"event_id": delivery_id, "event_type": event_type, "payload": payload,
                             "callback_id": callback["id"], "url": callback["url"]})
        await deliverer_for(state).deliver(callback["url"], delivery_id, body, context=callback["id"])
        state.counters["webhook_deliveries"] += 1
        delivery_ids.append(delivery_id)
    return delivery_ids


async def emit(state: RemoteState, event_type: str, company_id: str, ids: dict[str, str]) -> int:
    """Deliver `event_type` to every subscribed callback of the company; returns how many."""
    payload = {"event_type": event_type, "company_id": company_id, **ids}
    state.counters["webhook_events"] += 1
    delivery_ids = await _deliver(state, event_type, company_id, payload)
    if delivery_ids:
        now = state.now_iso()
        event_id = state.new_id()
        state.data["webhook_events"][event_id] = {
            "id": event_id, "event_type": event_type, "company_id": company_id, "first_triggered_at": now,
            "last_triggered_at": now, "successfully_delivered": False,
            "_company_id": company_id, "_payload": payload, "_deliveries": delivery_ids,
        }
    return len(delivery_ids)


def delivered(state: RemoteState, event: dict[str, Any]) -> bool:
    """Whether the event's latest round of deliveries all succeeded."""
    deliveries = set(event.get("_deliveries") or ())
    if not deliveries:
        return bool(event.get("successfully_delivered"))
    attempts = state.deliverer.attempts if state.deliverer else []
    done = {a.event_id for a in attempts if a.outcome == "delivered"}
    return deliveries <= done


async def replay(state: RemoteState, event: dict[str, Any]) -> int:
    """Deliver a logged event again to the callbacks subscribed now."""
    delivery_ids = await _deliver(state, event["event_type"], event["company_id"], event["_payload"])
    event["_deliveries"] = delivery_ids
    event["last_triggered_at"] = state.now_iso()
    state.counters["webhook_replays"] += 1
    return len(delivery_ids)
