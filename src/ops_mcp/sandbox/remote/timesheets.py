"""Timesheets: list/show, approve (submitted only) and send back (submitted → in_calibration)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import json_body, paginated, query_choice, single, sort_records
from ops_mcp.sandbox.remote.errors import conflict, invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

STATUSES = ("open", "submitted", "approved", "in_calibration", "processed")
MINIMAL_FIELDS = ("id", "employment_id", "country_code", "start_date", "end_date", "status", "submitted_at", "notes",
                  "approval_required")


@router.op("GET", "/v1/timesheets", "timesheet:read")
async def list_timesheets(ctx: Ctx) -> Response:
    records = ctx.state.records("timesheets", ctx.company_ids)
    status = query_choice(ctx.request, "status", STATUSES)
    if status:
        records = [r for r in records if r["status"] == status]
    order = query_choice(ctx.request, "order", ("asc", "desc"))
    sort_by = query_choice(ctx.request, "sort_by", ("submitted_at",))
    records.sort(key=lambda r: (r["start_date"], r["id"]))
    if sort_by or order:
        records = sort_records(records, sort_by, order, "start_date")
    return paginated(ctx.request, "timesheets", records)


def _get(ctx: Ctx) -> dict[str, Any]:
    record_id = ctx.request.path_params.get("timesheet_id") or ctx.param("id")
    return ctx.get("timesheets", record_id, "Timesheet")


@router.op("GET", "/v1/timesheets/{id}", "timesheet:read")
async def show_timesheet(ctx: Ctx) -> Response:
    return single("timesheet", _get(ctx))


@router.op("POST", "/v1/timesheets/{timesheet_id}/approve", "timesheet:write")
async def approve_timesheet(ctx: Ctx) -> Response:
    record = _get(ctx)
    if record["status"] != "submitted":
        raise conflict(f"Only submitted timesheets can be approved; this one is {record['status']}")
    record.update(status="approved", approved_at=ctx.state.now_iso())
    # Remote answers approve with the minimal timesheet (no hour breakdown).
    return JSONResponse({"data": {"timesheet": {k: record.get(k) for k in MINIMAL_FIELDS}}})


@router.op("POST", "/v1/timesheets/{timesheet_id}/send-back", "timesheet:write")
async def send_back_timesheet(ctx: Ctx) -> Response:
    record = _get(ctx)
    body = await json_body(ctx.request)
    reason = body.get("sent_back_reason")
    if not isinstance(reason, str) or not reason.strip():
        raise invalid_field("sent_back_reason", "can't be blank")
    if record["status"] != "submitted":
        raise conflict(f"Only submitted timesheets can be sent back; this one is {record['status']}")
    record.update(status="in_calibration", sent_back=True, sent_back_reason=reason)
    await ctx.emit("timesheet.in_calibration", record["_company_id"], employment_id=record["employment_id"],
                   timesheet_id=record["id"])
    return JSONResponse({"data": {"timesheet": {"id": record["id"], "status": "in_calibration", "sent_back": True,
                                                "sent_back_reason": reason}}})
