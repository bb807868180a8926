"""Time off: list/show/create/update and the approval state machine.

    requested ──approve──► approved ──(end date passes)──► taken
        │  └──decline──► declined      │  ▲
        └──cancel──► cancelled ◄──cancel┘  │ cancel-request/decline
                         ▲                 │
            cancel-request/approve ── cancel_requested (the employee asked to cancel approved leave)

Any other move is 409 `{"message": …}`. Webhook names spell `canceled`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import (
    action_ok,
    json_body,
    paginated,
    query,
    query_choice,
    query_date,
    require_fields,
    single,
    sort_records,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

TIMEOFF_TYPES = ("time_off", "sick_leave", "public_holiday", "unpaid_leave", "extended_leave", "in_lieu_time",
                 "maternity_leave", "paternity_leave", "parental_leave", "bereavement", "military_leave", "other",
                 "paid_time_off", "custom_company_leave", "rtt", "casual_leave", "rol", "ex_festivita")
STATUSES = ("requested", "approved", "cancelled", "declined", "taken", "cancel_requested")
DATA_FIELDS = ("start_date", "end_date", "timeoff_type", "timezone", "timeoff_days", "notes", "approver_id",
               "approved_at", "document")
TYPE_DESCRIPTIONS = {
    "paid_time_off": "Paid vacation days from the employee's annual allowance.",
    "sick_leave": "Absence due to illness.", "unpaid_leave": "Leave without pay.",
    "public_holiday": "A public holiday worked around.", "parental_leave": "Leave to care for a child.",
    "bereavement": "Leave after the death of a relative.",
}


def settle(record: dict[str, Any], today: date) -> dict[str, Any]:
    """Approved leave whose last day has passed is `taken` (Remote moves it nightly)."""
    if record["status"] == "approved" and record["end_date"] < today.isoformat():
        record["status"] = "taken"
    return record


def _get(ctx: Ctx) -> dict[str, Any]:
    record_id = ctx.request.path_params.get("timeoff_id") or ctx.param("id")
    return settle(ctx.get("timeoffs", record_id, "Time off"), ctx.state.today)


@router.op("GET", "/v1/timeoff", "timeoff:read")
async def list_timeoff(ctx: Ctx) -> Response:
    records = [settle(r, ctx.state.today) for r in ctx.state.records("timeoffs", ctx.company_ids)]
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        records = [r for r in records if r["employment_id"] == employment_id]
    kind = query_choice(ctx.request, "timeoff_type", TIMEOFF_TYPES)
    if kind:
        records = [r for r in records if r["timeoff_type"] == kind]
    status = query_choice(ctx.request, "status", STATUSES)
    if status:
        records = [r for r in records if r["status"] == status]
    # Overlap: a request counts when any of its days falls in [start_date, end_date].
    start, end = query_date(ctx.request, "start_date"), query_date(ctx.request, "end_date")
    if start:
        records = [r for r in records if r["end_date"] >= start]
    if end:
        records = [r for r in records if r["start_date"] <= end]
    order = query_choice(ctx.request, "order", ("asc", "desc"))
    sort_by = query_choice(ctx.request, "sort_by", ("timeoff_type", "status"))
    records.sort(key=lambda r: (r["start_date"], r["id"]))
    records = sort_records(records, sort_by, order, "start_date")
    return paginated(ctx.request, "timeoffs", records)


@router.op("GET", "/v1/timeoff/types", "timeoff:read")
async def timeoff_types(ctx: Ctx) -> Response:
    return JSONResponse({"data": {"timeoff_types": [
        {"name": name, "description": TYPE_DESCRIPTIONS.get(name)} for name in TIMEOFF_TYPES]}})


@router.op("GET", "/v1/timeoff/{id}", "timeoff:read")
async def show_timeoff(ctx: Ctx) -> Response:
    return single("timeoff", _get(ctx))


def _check_manager(ctx: Ctx, company_id: str, approver_id: Any, errors: dict[str, list[str]]) -> None:
    manager = ctx.state.data["managers"].get(approver_id) if isinstance(approver_id, str) else None
    if manager is None or manager["_company_id"] != company_id:
        errors["approver_id"] = ["must be the user id of a manager of the employment's company"]


def _check_data(ctx: Ctx, body: dict[str, Any], current: dict[str, Any], company_id: str) -> dict[str, list[str]]:
    """Validate the data fields of a create/update; `current` supplies fields not in `body`."""
    errors: dict[str, list[str]] = {}
    merged = {**current, **body}
    for name in ("start_date", "end_date"):
        if not is_valid_date(merged.get(name)):
            errors[name] = ["is invalid"]
    if not errors and merged["end_date"] < merged["start_date"]:
        errors["end_date"] = ["must be on or after start_date"]
    if "timezone" in body and (not isinstance(body["timezone"], str) or "/" not in body["timezone"]):
        errors["timezone"] = ["is not a valid IANA time zone"]
    if "timeoff_type" in body and body["timeoff_type"] not in TIMEOFF_TYPES:
        errors["timeoff_type"] = ["is invalid"]
    if "notes" in body and body["notes"] is not None and not isinstance(body["notes"], str):
        errors["notes"] = ["is invalid"]
    if "approved_at" in body and not isinstance(body["approved_at"], str):
        errors["approved_at"] = ["is invalid"]
    if "approver_id" in body and body["approver_id"] is not None:
        _check_manager(ctx, company_id, body["approver_id"], errors)
    if "document" in body:
        doc = body["document"]
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or not isinstance(doc.get("content"), str):
            errors["document"] = ["must have a name and base64 content"]
    if "timeoff_days" in body:
        days = body["timeoff_days"]
        if not isinstance(days, list) or not days:
            errors["timeoff_days"] = ["can't be blank"]
        else:
            for i, day in enumerate(days):
                ok_day = isinstance(day, dict) and is_valid_date(day.get("day"))
                hours = day.get("hours") if isinstance(day, dict) else None
                if not ok_day or isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 24:
                    errors[f"timeoff_days.{i}"] = ["must have a day (YYYY-MM-DD) and hours between 0 and 24"]
                elif "start_date" not in errors and "end_date" not in errors and \
                        not merged["start_date"] <= day["day"] <= merged["end_date"]:
                    errors[f"timeoff_days.{i}.day"] = ["must be between start_date and end_date"]
    return errors


def _overlaps(ctx: Ctx, employment_id: str, start: str, end: str, exclude: str | None = None) -> bool:
    return any(
        r["employment_id"] == employment_id and r["id"] != exclude and r["status"] in ("requested", "approved",
                                                                                       "cancel_requested")
        and r["start_date"] <= end and r["end_date"] >= start
        for r in ctx.state.data["timeoffs"].values()
    )


def _document(ctx: Ctx, doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": ctx.state.new_id(), "name": doc["name"], "type": "timeoff_document", "sub_type": None,
            "inserted_at": ctx.state.now_iso()}


def _apply(ctx: Ctx, record: dict[str, Any], body: dict[str, Any]) -> None:
    for name in DATA_FIELDS:
        if name not in body:
            continue
        if name == "document":
            record["document"] = _document(ctx, body["document"])
        elif name == "timeoff_days":
            record["timeoff_days"] = [{"day": d["day"], "hours": d["hours"], "minutes": 0} for d in body[name]]
            record["total_minutes"] = sum(d["hours"] * 60 for d in body[name])
        elif name == "timeoff_type":
            record["timeoff_type"] = body[name]
            record["leave_policy"] = {"leave_policy_variant_slug": f"{body[name]}-default", "leave_type": body[name],
                                      "name": body[name].replace("_", " ").capitalize()}
        else:
            record[name] = body[name]
    record["updated_at"] = ctx.state.now_iso()


@router.op("POST", "/v1/timeoff", "timeoff:write")
async def create_timeoff(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "start_date", "end_date", "timezone", "timeoff_days", "status",
                   "approver_id", "approved_at")
    allowed = {"employment_id", "leave_policy_variant_id", "status", *DATA_FIELDS}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if body["status"] != "approved":
        raise invalid_field("status", "must be approved: only approved time off can be created through the API")
    if not body.get("timeoff_type") and not body.get("leave_policy_variant_id"):
        raise invalid_field("timeoff_type", "can't be blank unless leave_policy_variant_id is given")
    if not isinstance(body["employment_id"], str):
        raise invalid_field("employment_id", "is invalid")
    employment = ctx.get("employments", body["employment_id"], "Employment")
    errors = _check_data(ctx, body, {}, employment["_company_id"])
    if errors:
        raise invalid(errors)
    state = ctx.state
    kind = body.get("timeoff_type")
    variant_id = body.get("leave_policy_variant_id")
    if variant_id is not None:
        # The variant ids come from GET /v1/leave-policies/details/{employment_id}.
        policy = state.get("leave_policies", variant_id, (employment["_company_id"],)) \
            if isinstance(variant_id, str) else None
        if policy is None:
            raise invalid_field("leave_policy_variant_id", "is not a leave policy of the employment")
        kind = kind or policy["leave_type"]
    kind = kind or "custom_company_leave"
    if employment["status"] in ("archived", "deleted"):
        raise conflict(f"Time off cannot be recorded for an employment in status {employment['status']}")
    if _overlaps(ctx, employment["id"], body["start_date"], body["end_date"]):
        raise conflict("Time off overlaps with another request of this employment")
    record: dict[str, Any] = {
        "id": state.new_id(), "employment_id": employment["id"], "status": "approved", "timeoff_type": kind,
        "cancel_reason": None, "cancelled_at": None, "decline_reason": None, "automatic": False, "document": None,
        "notes": None, "leave_policy_variant_id": body.get("leave_policy_variant_id"),
        "created_at": state.now_iso(), "_company_id": employment["_company_id"],
    }
    _apply(ctx, record, {**body, "timeoff_type": kind})
    state.data["timeoffs"][record["id"]] = record
    state.counters["timeoffs_created"] += 1
    await ctx.emit("timeoff.requested", record["_company_id"], employment_id=employment["id"], timeoff_id=record["id"])
    return single("timeoff", settle(record, state.today), status=201)


@router.op("PATCH|PUT", "/v1/timeoff/{id}", "timeoff:write")
async def update_timeoff(ctx: Ctx) -> Response:
    record = _get(ctx)
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - {"edit_reason", "cancel_reason", "status", *DATA_FIELDS})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    # Remote's body schema (UpdateApprovedTimeoffParams) requires both reasons on every update.
    missing = {k: ["is required"] for k in ("edit_reason", "cancel_reason")
               if k not in body or not isinstance(body[k], str)}
    if missing:
        raise invalid(missing)
    if not any(k in body for k in ("status", *DATA_FIELDS)):
        raise invalid({"base": ["Nothing to update"]})
    if body.get("status") == "cancelled":
        return await _cancel(ctx, record, body.get("cancel_reason"))
    if "status" in body and body["status"] != record["status"]:
        raise invalid_field("status", "can only be cancelled through this endpoint")
    if record["status"] not in ("requested", "approved"):
        raise conflict(f"Time off in status {record['status']} cannot be edited")
    editing = [k for k in DATA_FIELDS if k in body]
    if editing and not (isinstance(body.get("edit_reason"), str) and body["edit_reason"].strip()):
        raise invalid_field("edit_reason", "can't be blank when editing a time off")
    errors = _check_data(ctx, body, record, record["_company_id"])
    if errors:
        raise invalid(errors)
    start = body.get("start_date", record["start_date"])
    end = body.get("end_date", record["end_date"])
    if _overlaps(ctx, record["employment_id"], start, end, exclude=record["id"]):
        raise conflict("Time off overlaps with another request of this employment")
    dates_changed = (start, end) != (record["start_date"], record["end_date"])
    _apply(ctx, record, body)
    ids = {"employment_id": record["employment_id"], "timeoff_id": record["id"]}
    await ctx.emit("timeoff.updated", record["_company_id"], **ids)
    if dates_changed:
        await ctx.emit("timeoff.date_changed", record["_company_id"], **ids)
    return single("timeoff", settle(record, ctx.state.today))


def _move(ctx: Ctx, record: dict[str, Any], expected: tuple[str, ...], action: str) -> None:
    if record["status"] not in expected:
        raise conflict(f"Time off in status {record['status']} cannot be {action}")


def _reason(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_field(name, "can't be blank")
    return value


async def _emit(ctx: Ctx, event: str, record: dict[str, Any]) -> None:
    await ctx.emit(event, record["_company_id"], employment_id=record["employment_id"], timeoff_id=record["id"])


@router.op("POST", "/v1/timeoff/{timeoff_id}/approve", "timeoff:write")
async def approve_timeoff(ctx: Ctx) -> Response:
    record = _get(ctx)
    body = await json_body(ctx.request)
    errors: dict[str, list[str]] = {}
    _check_manager(ctx, record["_company_id"], body.get("approver_id"), errors)
    if errors:
        raise invalid(errors)
    _move(ctx, record, ("requested",), "approved")
    record.update(status="approved", approver_id=body["approver_id"], approved_at=ctx.state.now_iso(),
                  updated_at=ctx.state.now_iso())
    await _emit(ctx, "timeoff.approved", record)
    return single("timeoff", settle(record, ctx.state.today))


@router.op("POST", "/v1/timeoff/{timeoff_id}/decline", "timeoff:write")
async def decline_timeoff(ctx: Ctx) -> Response:
    record = _get(ctx)
    reason = _reason(await json_body(ctx.request), "decline_reason")
    _move(ctx, record, ("requested",), "declined")
    record.update(status="declined", decline_reason=reason, updated_at=ctx.state.now_iso())
    await _emit(ctx, "timeoff.declined", record)
    return single("timeoff", record)


async def _cancel(ctx: Ctx, record: dict[str, Any], reason: Any) -> Response:
    if not isinstance(reason, str) or not reason.strip():
        raise invalid_field("cancel_reason", "can't be blank")
    _move(ctx, record, ("requested", "approved"), "cancelled")
    record.update(status="cancelled", cancel_reason=reason, cancelled_at=ctx.state.now_iso(),
                  updated_at=ctx.state.now_iso())
    await _emit(ctx, "timeoff.canceled", record)
    return single("timeoff", record)


@router.op("POST", "/v1/timeoff/{timeoff_id}/cancel", "timeoff:write")
async def cancel_timeoff(ctx: Ctx) -> Response:
    record = _get(ctx)
    body = await json_body(ctx.request)
    return await _cancel(ctx, record, body.get("cancel_reason"))


@router.op("POST", "/v1/timeoff/{timeoff_id}/cancel-request/approve", "timeoff:write")
async def approve_cancel_request(ctx: Ctx) -> Response:
    record = _get(ctx)
    _move(ctx, record, ("cancel_requested",), "cancelled: there is no pending cancellation request")
    record.update(status="cancelled", cancelled_at=ctx.state.now_iso(), updated_at=ctx.state.now_iso())
    await _emit(ctx, "timeoff.canceled", record)
    return action_ok()


@router.op("POST", "/v1/timeoff/{timeoff_id}/cancel-request/decline", "timeoff:write")
async def decline_cancel_request(ctx: Ctx) -> Response:
    record = _get(ctx)
    reason = _reason(await json_body(ctx.request), "decline_reason")
    _move(ctx, record, ("cancel_requested",), "kept: there is no pending cancellation request")
    record.update(status="approved", cancel_reason=None, updated_at=ctx.state.now_iso())
    record["cancel_request_decline_reason"] = reason
    settle(record, ctx.state.today)
    await _emit(ctx, "timeoff.updated", record)
    return action_ok()
