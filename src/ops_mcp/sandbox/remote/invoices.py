"""Contractor invoices (list/show) and contractor invoice schedules (bulk create with 201/207/422,
list, show, update)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import (
    json_body,
    paginated,
    query,
    query_choice,
    query_date,
    single,
    sort_records,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import public

router = Router()

STATUSES = ("issued", "draft", "approved", "pending_payment", "in_review", "externally_paid", "rejected",
            "rejected_by_remote", "blocked", "compliance_review", "compliance_failed", "pay_out_scheduled",
            "enqueued", "processing", "manual_payout", "paid_out", "pay_out_failed", "funds_returned")
PERIODICITIES = ("weekly", "bi_weekly", "semi_monthly", "monthly")
SCHEDULE_FIELDS = ("employment_id", "currency", "periodicity", "start_date", "items", "nr_occurrences", "number",
                   "note")
# (query prefix, record field); timestamps are compared by their date part.
DATE_FILTERS = (("date", "date"), ("due_date", "due_date"), ("approved_date", "approved_at"),
                ("paid_out_date", "paid_out_at"))


@router.op("GET", "/v1/contractor-invoices", "invoices:read")
async def list_invoices(ctx: Ctx) -> Response:
    records = ctx.state.records("invoices", ctx.company_ids)
    status = query_choice(ctx.request, "status", STATUSES)
    if status:
        records = [r for r in records if r["status"] == status]
    schedule_id = query(ctx.request, "contractor_invoice_schedule_id")
    if schedule_id:
        records = [r for r in records if r["contractor_invoice_schedule_id"] == schedule_id]
    for prefix, field in DATE_FILTERS:
        low, high = query_date(ctx.request, f"{prefix}_from"), query_date(ctx.request, f"{prefix}_to")
        if low:
            records = [r for r in records if r.get(field) and r[field][:10] >= low]
        if high:
            records = [r for r in records if r.get(field) and r[field][:10] <= high]
    sort_by = query_choice(ctx.request, "sort_by", ("date", "due_date", "approved_at", "paid_out_at"))
    order = query_choice(ctx.request, "order", ("asc", "desc"))
    records.sort(key=lambda r: (r["date"], r["id"]), reverse=True)
    if sort_by or order:
        records = sort_records(records, sort_by, order or "desc", "date")
    return paginated(ctx.request, "contractor_invoices", records)


@router.op("GET", "/v1/contractor-invoices/{id}", "invoices:read")
async def show_invoice(ctx: Ctx) -> Response:
    return single("contractor_invoice", ctx.get("invoices", ctx.param("id"), "Contractor invoice"))


def _schedule_errors(ctx: Ctx, item: Any) -> tuple[dict[str, list[str]], dict[str, Any] | None]:
    if not isinstance(item, dict):
        return {"base": ["must be an object"]}, None
    errors: dict[str, list[str]] = {}
    for name in ("employment_id", "currency", "periodicity", "start_date", "items"):
        if item.get(name) in (None, "", []):
            errors[name] = ["can't be blank"]
    for name in sorted(set(item) - set(SCHEDULE_FIELDS)):
        errors[name] = ["is not a permitted field"]
    employment = None
    if "employment_id" not in errors:
        employment_id = item["employment_id"]
        employment = ctx.state.get("employments", employment_id, ctx.principal.company_ids) \
            if isinstance(employment_id, str) else None
        if employment is None:
            errors["employment_id"] = ["employment not found"]
        elif employment["type"] != "contractor":
            errors["employment_id"] = ["is not a contractor employment"]
    if "currency" not in errors and (not isinstance(item["currency"], str)
                                     or not re.fullmatch(r"[A-Z]{3}", item["currency"])):
        errors["currency"] = ["is invalid"]
    if "periodicity" not in errors and item["periodicity"] not in PERIODICITIES:
        errors["periodicity"] = ["is invalid"]
    if "start_date" not in errors:
        if not is_valid_date(item["start_date"]):
            errors["start_date"] = ["is invalid"]
        elif item["start_date"] < ctx.state.today.isoformat():
            errors["start_date"] = ["can't be in the past"]
    if "items" not in errors:
        if not isinstance(item["items"], list):
            errors["items"] = ["is invalid"]
        else:
            for i, line in enumerate(item["items"]):
                amount = line.get("amount") if isinstance(line, dict) else None
                if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                    errors[f"items.{i}.amount"] = ["must be a positive integer (cents)"]
                if not isinstance(line, dict) or not isinstance(line.get("description"), str) \
                        or not line["description"].strip():
                    errors[f"items.{i}.description"] = ["can't be blank"]
                for extra in sorted(set(line) - {"amount", "description"}) if isinstance(line, dict) else ():
                    errors[f"items.{i}.{extra}"] = ["is not a permitted field"]
    occurrences = item.get("nr_occurrences")
    if occurrences is not None and (isinstance(occurrences, bool) or not isinstance(occurrences, int)
                                    or occurrences < 1):
        errors["nr_occurrences"] = ["must be greater than 0"]
    for name in ("number", "note"):
        if item.get(name) is not None and not isinstance(item[name], str):
            errors[name] = ["is invalid"]
    return errors, employment


@router.op("POST", "/v1/contractor-invoice-schedules", "invoices:write")
async def create_schedules(ctx: Ctx) -> Response:
    body = await json_body(ctx.request, required=False)
    items = body.get("contractor_invoice_schedules")
    if not isinstance(items, list) or not items:
        # Same envelope as a bulk failure: the whole request is one failed item.
        return JSONResponse({"data": {"successes": [], "failures": [
            {"errors": {"contractor_invoice_schedules": ["can't be blank"]}}]}}, status_code=422)
    state = ctx.state
    successes, failures = [], []
    for item in items:
        errors, employment = _schedule_errors(ctx, item)
        if errors:
            # Echo the item's valid fields only, so every failure still matches the schedule shape.
            bad = {key.split(".")[0] for key in errors}
            echo = {k: v for k, v in item.items() if k in SCHEDULE_FIELDS and k not in bad and v is not None} \
                if isinstance(item, dict) else {}
            failures.append({**echo, "errors": errors})
            continue
        assert employment is not None  # no errors: the employment was found
        record = {name: item.get(name) for name in SCHEDULE_FIELDS}
        record.update(id=state.new_id(), status="active", next_invoice_at=item["start_date"],
                      created_at=state.now_iso(), _company_id=employment["_company_id"])
        state.data["schedules"][record["id"]] = record
        state.counters["invoice_schedules_created"] += 1
        successes.append({k: v for k, v in public(record).items()
                          if k in (*SCHEDULE_FIELDS, "id") and v is not None})
    status = 201 if not failures else 207 if successes else 422
    return JSONResponse({"data": {"successes": successes, "failures": failures}}, status_code=status)


def _schedule_view(record: dict[str, Any]) -> dict[str, Any]:
    body = public(record)
    body["total_amount"] = sum(item["amount"] for item in record.get("items") or [])
    body.pop("created_at", None)
    return body


SCHEDULE_SORTS = ("number", "total_amount", "next_invoice_at", "start_date", "nr_occurrences")
SCHEDULE_STATUSES = ("inactive", "completed", "active", "processing", "pending_company_action",
                     "pending_contractor_action", "generation_failed_unrelated_to_withdrawal_method")


@router.op("GET", "/v1/contractor-invoice-schedules", "invoices:write")
async def list_schedules(ctx: Ctx) -> Response:
    records = [_schedule_view(r) for r in ctx.state.records("schedules", ctx.company_ids)]
    for name, choices in (("status", SCHEDULE_STATUSES), ("periodicity", PERIODICITIES)):
        value = query_choice(ctx.request, name, choices)
        if value:
            records = [r for r in records if r[name] == value]
    for name in ("employment_id", "currency"):
        value = query(ctx.request, name)
        if value:
            records = [r for r in records if r[name] == value]
    for prefix, field in (("start_date", "start_date"), ("next_invoice_date", "next_invoice_at")):
        low, high = query_date(ctx.request, f"{prefix}_from"), query_date(ctx.request, f"{prefix}_to")
        if low:
            records = [r for r in records if r.get(field) and r[field][:10] >= low]
        if high:
            records = [r for r in records if r.get(field) and r[field][:10] <= high]
    records.sort(key=lambda r: (r["start_date"], r["id"]))
    sort_by = query_choice(ctx.request, "sort_by", SCHEDULE_SORTS)
    order = query_choice(ctx.request, "order", ("asc", "desc"))
    if sort_by or order:
        records = sort_records(records, sort_by, order, "start_date")
    return paginated(ctx.request, "contractor_invoice_schedules", records)


@router.op("GET", "/v1/contractor-invoice-schedules/{id}", "invoices:read")
async def show_schedule(ctx: Ctx) -> Response:
    return single("contractor_invoice_schedule",
                  _schedule_view(ctx.get("schedules", ctx.param("id"), "Contractor invoice schedule")))


@router.op("PATCH", "/v1/contractor-invoice-schedules/{id}", "invoices:write")
async def update_schedule(ctx: Ctx) -> Response:
    record = ctx.get("schedules", ctx.param("id"), "Contractor invoice schedule")
    body = await json_body(ctx.request)
    allowed = {"currency", "items", "periodicity", "start_date"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if not body:
        raise invalid({"base": ["Nothing to update"]})
    candidate = {**{k: record.get(k) for k in SCHEDULE_FIELDS}, **body}
    errors, _employment = _schedule_errors(ctx, {k: v for k, v in candidate.items() if v is not None})
    if "start_date" not in body:
        errors.pop("start_date", None)  # an existing schedule may have started in the past
    if errors:
        raise invalid(errors)
    if record["status"] not in ("active", "inactive"):
        raise conflict(f"A schedule in status {record['status']} cannot be changed")
    record.update(body)
    if "start_date" in body:
        record["next_invoice_at"] = body["start_date"]
    return single("contractor_invoice_schedule", _schedule_view(record))
