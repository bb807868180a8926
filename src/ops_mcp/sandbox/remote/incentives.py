"""Incentives: one-off payments (list, show, create, update, delete) and recurring ones (list,
create, delete).

State machine of a payment: `pending` -> `processing` (its month's payroll started: from the 1st of
the effective month on the sandbox clock) -> `paid` (after the month's last day). Only pending
payments can be changed or deleted (409 otherwise). A recurring incentive schedules one pending
payment per month; deleting it deletes its pending payments and lists the ones already in payroll.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import (
    action_ok,
    json_body,
    paginated,
    query,
    query_choice,
    require_fields,
    single,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed_hr import month_end
from ops_mcp.sandbox.remote.store import public

router = Router()

TYPES = ("acting_up_allowance", "allowance", "car_allowance", "health_and_wellness_allowance", "internet_allowance",
         "meal_allowance", "on_call_allowance", "parenthood_allowance", "phone_allowance", "relocation_allowance",
         "travel_allowance", "work_from_home_allowance", "bonus", "holiday_bonus", "referral_bonus",
         "retention_bonus", "commission", "other", "overtime", "stipend")
ONE_OFF_TYPES = (*TYPES, "signing_bonus")
CREATE_FIELDS = {"employment_id", "type", "amount", "amount_tax_type", "effective_date", "note", "period_start",
                 "period_end"}
UPDATE_FIELDS = {"type", "amount", "amount_tax_type", "effective_date", "note"}
RECURRING_FIELDS = {"employment_id", "type", "amount", "amount_tax_type", "effective_date", "duration_in_months",
                    "note"}
# Open-ended recurring incentives get this many months scheduled ahead.
SCHEDULE_AHEAD_MONTHS = 3


def settle(record: dict[str, Any], today: date) -> dict[str, Any]:
    effective = record.get("effective_date")
    if effective and record["status"] in ("pending", "processing"):
        start = date.fromisoformat(effective).replace(day=1)
        if today > month_end(start):
            record["status"] = "paid"
        elif today >= start:
            record["status"] = "processing"
    return record


def _check(ctx: Ctx, body: dict[str, Any], types: tuple[str, ...]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "type" in body and body["type"] not in types:
        errors["type"] = ["is invalid"]
    amount = body.get("amount")
    if "amount" in body and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 1):
        errors["amount"] = ["must be a positive integer (cents)"]
    if "amount_tax_type" in body and body["amount_tax_type"] not in ("gross", "net"):
        errors["amount_tax_type"] = ["is invalid"]
    if "effective_date" in body:
        if not is_valid_date(body["effective_date"]):
            errors["effective_date"] = ["is invalid"]
        elif body["effective_date"] < ctx.state.today.replace(day=1).isoformat():
            errors["effective_date"] = ["can't be in a payroll month that has closed"]
    for name in ("period_start", "period_end"):
        if body.get(name) is not None and not is_valid_date(body[name]):
            errors[name] = ["is invalid"]
    if "note" in body and body["note"] is not None and not isinstance(body["note"], str):
        errors["note"] = ["is invalid"]
    return errors


def _employee(ctx: Ctx, employment_id: Any) -> dict[str, Any]:
    if not isinstance(employment_id, str):
        raise invalid_field("employment_id", "is invalid")
    employment = ctx.get("employments", employment_id, "Employment")
    if employment["type"] == "contractor" or employment["status"] in ("archived", "deleted"):
        raise conflict("Incentives are paid through payroll: only to employees that are not archived")
    return employment


def _payment(ctx: Ctx, employment: dict[str, Any], body: dict[str, Any], effective: date,
             recurring_id: str | None) -> dict[str, Any]:
    record = {
        "id": ctx.state.new_id(), "employment_id": employment["id"], "type": body["type"], "status": "pending",
        "amount": body["amount"], "amount_tax_type": body["amount_tax_type"], "effective_date": effective.isoformat(),
        "expected_payout_date": month_end(effective.replace(day=1)).isoformat(), "note": body.get("note"),
        "period_start": body.get("period_start"), "period_end": body.get("period_end"),
        "recurring_incentive_id": recurring_id, "_company_id": employment["_company_id"],
    }
    ctx.state.data["incentives"][record["id"]] = record
    return settle(record, ctx.state.today)


@router.op("GET", "/v1/incentives", "incentive:read")
async def list_incentives(ctx: Ctx) -> Response:
    records = [settle(r, ctx.state.today) for r in ctx.state.records("incentives", ctx.company_ids)]
    for name in ("employment_id", "recurring_incentive_id"):
        value = query(ctx.request, name)
        if value:
            records = [r for r in records if r[name] == value]
    status = query_choice(ctx.request, "status", ("pending", "processing", "paid"))
    if status:
        records = [r for r in records if r["status"] == status]
    records.sort(key=lambda r: (r["effective_date"] or "", r["id"]), reverse=True)
    return paginated(ctx.request, "incentives", records)


@router.op("GET", "/v1/incentives/recurring", "incentive:read")
async def list_recurring(ctx: Ctx) -> Response:
    records = ctx.state.records("recurring_incentives", ctx.company_ids)
    status = query_choice(ctx.request, "status", ("active", "inactive"))
    if status:
        records = [r for r in records if r["status"] == status]
    kind = query_choice(ctx.request, "type", TYPES)
    if kind:
        records = [r for r in records if r["type"] == kind]
    note = query(ctx.request, "note")
    if note:
        records = [r for r in records if note.lower() in (r.get("note") or "").lower()]
    records.sort(key=lambda r: (r["start_date"], r["id"]), reverse=True)
    return paginated(ctx.request, "recurring_incentives", records)


@router.op("POST", "/v1/incentives/recurring", "incentive:write")
async def create_recurring(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "type", "amount", "amount_tax_type", "effective_date")
    unknown = sorted(set(body) - RECURRING_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    errors = _check(ctx, body, TYPES)
    months = body.get("duration_in_months")
    if months is not None and (not isinstance(months, str) or not months.isdigit() or not 1 <= int(months) <= 99):
        errors["duration_in_months"] = ["must be a number of months between 1 and 99 (as a string)"]
    if errors:
        raise invalid(errors)
    employment = _employee(ctx, body["employment_id"])
    start = date.fromisoformat(body["effective_date"]).replace(day=1)
    count = int(months) if months else SCHEDULE_AHEAD_MONTHS
    end = _add_months(start, int(months)) - timedelta(days=1) if months else None
    state = ctx.state
    recurring = {
        "id": state.new_id(), "employment_id": employment["id"], "type": body["type"], "status": "active",
        "amount": body["amount"], "amount_tax_type": body["amount_tax_type"], "start_date": start.isoformat(),
        "end_date": end.isoformat() if end else None, "note": body.get("note"), "_company_id": employment["_company_id"],
    }
    state.data["recurring_incentives"][recurring["id"]] = recurring
    for i in range(count):
        month = _add_months(start, i)
        _payment(ctx, employment, {**body, "period_start": month.isoformat(),
                                   "period_end": month_end(month).isoformat()}, month, recurring["id"])
    state.counters["recurring_incentives_created"] += 1
    await ctx.emit("incentive.created", recurring["_company_id"], employment_id=employment["id"],
                   recurring_incentive_id=recurring["id"])
    return single("recurring_incentive", recurring, status=201)


def _add_months(first: date, months: int) -> date:
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1)


@router.op("DELETE", "/v1/incentives/recurring/{id}", "incentive:write")
async def delete_recurring(ctx: Ctx) -> Response:
    recurring = ctx.get("recurring_incentives", ctx.param("id"), "Recurring incentive")
    state = ctx.state
    payments = [settle(p, state.today) for p in state.data["incentives"].values()
                if p.get("recurring_incentive_id") == recurring["id"]]
    scheduled = [p for p in payments if p["status"] != "pending"]
    for payment in payments:
        if payment["status"] == "pending":
            del state.data["incentives"][payment["id"]]
    recurring.update(status="inactive", end_date=state.today.isoformat())
    await ctx.emit("incentive.deleted", recurring["_company_id"], employment_id=recurring["employment_id"],
                   recurring_incentive_id=recurring["id"])
    return JSONResponse({"data": {"status": "ok", "already_scheduled_incentives": [public(p) for p in scheduled]}})


@router.op("POST", "/v1/incentives", "incentive:write")
async def create_incentive(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "type", "amount", "amount_tax_type", "effective_date")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    errors = _check(ctx, body, ONE_OFF_TYPES)
    if errors:
        raise invalid(errors)
    employment = _employee(ctx, body["employment_id"])
    record = _payment(ctx, employment, body, date.fromisoformat(body["effective_date"]), None)
    ctx.state.counters["incentives_created"] += 1
    await ctx.emit("incentive.created", record["_company_id"], employment_id=employment["id"], incentive_id=record["id"])
    return single("incentive", record, status=201)


def _get(ctx: Ctx) -> dict[str, Any]:
    return settle(ctx.get("incentives", ctx.param("id"), "Incentive"), ctx.state.today)


@router.op("GET", "/v1/incentives/{id}", "incentive:read")
async def show_incentive(ctx: Ctx) -> Response:
    return single("incentive", _get(ctx))


@router.op("PATCH", "/v1/incentives/{id}", "incentive:write")
async def update_incentive(ctx: Ctx) -> Response:
    record = _get(ctx)
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - UPDATE_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if not body:
        raise invalid({"base": ["Nothing to update"]})
    errors = _check(ctx, body, ONE_OFF_TYPES)
    if errors:
        raise invalid(errors)
    if record["status"] != "pending":
        raise conflict(f"Only pending incentives can be changed; this one is {record['status']}")
    record.update(body)
    if "effective_date" in body:
        start = date.fromisoformat(body["effective_date"]).replace(day=1)
        record["expected_payout_date"] = month_end(start).isoformat()
    settle(record, ctx.state.today)
    await ctx.emit("incentive.updated", record["_company_id"], employment_id=record["employment_id"],
                   incentive_id=record["id"])
    return single("incentive", record)


@router.op("DELETE", "/v1/incentives/{id}", "incentive:write")
async def delete_incentive(ctx: Ctx) -> Response:
    record = _get(ctx)
    if record["status"] != "pending":
        raise conflict(f"Only pending incentives can be deleted; this one is {record['status']}")
    del ctx.state.data["incentives"][record["id"]]
    await ctx.emit("incentive.deleted", record["_company_id"], employment_id=record["employment_id"],
                   incentive_id=record["id"])
    return action_ok()
