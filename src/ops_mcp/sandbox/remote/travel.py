"""Work-authorization and travel-letter requests: list, show, and the manager's decision.

State machine: `pending` -> `approved_by_manager` | `declined_by_manager` (PATCH) ;
`approved_by_manager` -> `approved_by_remote` two days later (Remote's review, sandbox clock).
`cancelled` (by the employee) and Remote's decisions cannot be changed through the API (409).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.remote.envelopes import json_body, paginated, query, query_choice, single
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

STATUSES = ("pending", "cancelled", "declined_by_manager", "declined_by_remote", "approved_by_manager",
            "approved_by_remote")
COSTS = ("responsible_for_accommodation_cost", "responsible_for_meal_cost", "responsible_for_travel_cost")
REMOTE_REVIEW = timedelta(days=2)
KINDS = {
    "work_authorizations": ("work_authorization_request", "work_authorization_requests", "Work authorization request",
                            "work_authorization"),
    "travel_letters": ("travel_letter_request", "travel_letter_requests", "Travel letter request", "travel_letter"),
}


def settle(record: dict[str, Any], today) -> dict[str, Any]:
    decided = record.get("_decided_at")
    if record["status"] == "approved_by_manager" and decided and \
            today >= datetime.fromisoformat(decided.replace("Z", "+00:00")).date() + REMOTE_REVIEW:
        record["status"] = "approved_by_remote"
    return record


def _list(ctx: Ctx, collection: str) -> Response:
    records = [settle(r, ctx.state.today) for r in ctx.state.records(collection, ctx.company_ids)]
    status = query_choice(ctx.request, "status", STATUSES)
    if status:
        records = [r for r in records if r["status"] == status]
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        records = [r for r in records if r["_employment_id"] == employment_id]
    name = query(ctx.request, "employee_name")
    if name:
        records = [r for r in records if name.lower() in (r["user"] or {}).get("name", "").lower()]
    query_choice(ctx.request, "sort_by", ("submitted_at",))
    order = query_choice(ctx.request, "order", ("asc", "desc")) or "desc"
    records.sort(key=lambda r: (r["submitted_at"], r["id"]), reverse=order == "desc")
    return paginated(ctx.request, KINDS[collection][1], records)


def _get(ctx: Ctx, collection: str) -> dict[str, Any]:
    return settle(ctx.get(collection, ctx.param("id"), KINDS[collection][2]), ctx.state.today)


async def _decide(ctx: Ctx, collection: str) -> Response:
    record = _get(ctx, collection)
    body = await json_body(ctx.request)
    allowed = {"status", "reason", "employer_special_instructions"} | (set(COSTS) if collection == "travel_letters"
                                                                      else set())
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    status = body.get("status")
    if status not in ("approved_by_manager", "declined_by_manager"):
        raise invalid_field("status", "must be approved_by_manager or declined_by_manager")
    if status == "declined_by_manager" and not str(body.get("reason") or "").strip():
        raise invalid_field("reason", "can't be blank when declining")
    if status == "approved_by_manager" and collection == "travel_letters":
        missing = {k: ["must be employee or employer"] for k in COSTS if body.get(k) not in ("employee", "employer")}
        if missing:
            raise invalid(missing)
    note = body.get("employer_special_instructions")
    if note is not None and not isinstance(note, str):
        raise invalid_field("employer_special_instructions", "is invalid")
    if record["status"] != "pending":
        raise conflict(f"Only pending requests can be decided; this one is {record['status']}")
    manager = ctx.state.data["managers"].get(ctx.principal.user_id or "")
    record.update(status=status, employer_special_instructions=note, _decided_at=ctx.state.now_iso(),
                  employer_approver={"id": manager["user_id"], "name": manager["user_name"],
                                     "email": manager["user_email"]} if manager else None)
    if status == "declined_by_manager":
        record["_decline_reason"] = body["reason"]
    for name in COSTS:
        if name in body:
            record[name] = body[name]
    singular, _plural, _resource, event = KINDS[collection]
    await ctx.emit(f"{event}.{status}", record["_company_id"], employment_id=record["_employment_id"],
                   **{f"{event}_request_id": record["id"]})
    return single(singular, record)


@router.op("GET", "/v1/work-authorization-requests", "work_authorization:read")
async def list_work_authorizations(ctx: Ctx) -> Response:
    return _list(ctx, "work_authorizations")


@router.op("GET", "/v1/work-authorization-requests/{id}", "work_authorization:read")
async def show_work_authorization(ctx: Ctx) -> Response:
    return single("work_authorization_request", _get(ctx, "work_authorizations"))


@router.op("PATCH", "/v1/work-authorization-requests/{id}", "work_authorization:write")
async def decide_work_authorization(ctx: Ctx) -> Response:
    return await _decide(ctx, "work_authorizations")


@router.op("GET", "/v1/travel-letter-requests", "travel_letter:read")
async def list_travel_letters(ctx: Ctx) -> Response:
    return _list(ctx, "travel_letters")


@router.op("GET", "/v1/travel-letter-requests/{id}", "travel_letter:read")
async def show_travel_letter(ctx: Ctx) -> Response:
    return single("travel_letter_request", _get(ctx, "travel_letters"))


@router.op("PATCH", "/v1/travel-letter-requests/{id}", "travel_letter:write")
async def decide_travel_letter(ctx: Ctx) -> Response:
    return await _decide(ctx, "travel_letters")
