"""Expenses: list, show, create (an approved expense), approve/decline a pending one, categories,
receipt downloads.

State machine: `pending` (submitted by the employee) -> `approved` | `declined` through PATCH;
`approved` -> `processing` once the next payroll picks it up (14 days after review on the sandbox
clock) -> `reimbursed` (30 days after review). `draft`, `canceled` and `archived` are the
employee's own states and cannot be reviewed (409).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.common.pdf import render_pdf
from ops_mcp.sandbox.remote.envelopes import json_body, paginated, query, query_bool, require_fields, single
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field, not_found
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed_hr import EXPENSE_CATEGORIES, EXPENSE_TITLES, currency_definition

router = Router()

CREATE_FIELDS = {"employment_id", "title", "amount", "currency", "expense_date", "category", "expense_category_slug",
                 "tax_amount", "timezone", "reviewer_id", "reviewed_at", "receipt", "receipts"}
CATEGORIES = tuple(EXPENSE_TITLES) + ("car_rental", "coworking_office", "entertainment", "fuel", "gifts",
                                      "insurance", "parking_toll", "subscription", "telecommunication", "utilities",
                                      "vaccination_testing", "visa", "wellness", "travel")
PROCESSING_AFTER = timedelta(days=14)
REIMBURSED_AFTER = timedelta(days=30)
MAX_RECEIPT_BYTES = 5 * 1024 * 1024


def settle(record: dict[str, Any], today: date) -> dict[str, Any]:
    """Move approved expenses along payroll: processing after 14 days, reimbursed after 30."""
    if record["status"] in ("approved", "processing") and record.get("reviewed_at"):
        reviewed = datetime.fromisoformat(record["reviewed_at"].replace("Z", "+00:00")).date()
        if today >= reviewed + REIMBURSED_AFTER:
            record["status"] = "reimbursed"
        elif today >= reviewed + PROCESSING_AFTER:
            record["status"] = "processing"
        if record["status"] != "approved" and not record.get("invoice_period"):
            record["invoice_period"] = (reviewed + PROCESSING_AFTER).strftime("%Y-%m")
    return record


def _get(ctx: Ctx, name: str = "id") -> dict[str, Any]:
    return settle(ctx.get("expenses", ctx.param(name), "Expense"), ctx.state.today)


@router.op("GET", "/v1/expenses", "expense:read")
async def list_expenses(ctx: Ctx) -> Response:
    records = [settle(r, ctx.state.today) for r in ctx.state.records("expenses", ctx.company_ids)]
    records.sort(key=lambda r: (r.get("expense_date") or "", r["id"]), reverse=True)
    return paginated(ctx.request, "expenses", records)


@router.op("GET", "/v1/expenses/categories", None)  # Remote lists no scope for it
async def list_categories(ctx: Ctx) -> Response:
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        ctx.get("employments", employment_id, "Employment")
    expense_id = query(ctx.request, "expense_id")
    if expense_id:
        ctx.get("expenses", expense_id, "Expense")
    include_parents = bool(query_bool(ctx.request, "include_parents"))
    rows = [{"slug": slug, "code": slug.upper().replace("-", "_"), "title": title, "description": None,
             "instructions": "Attach an itemised receipt.", "prompt": None, "is_selectable": True,
             "scope": "company", "status": "active",
             "parent": {"code": "TRAVEL", "slug": "travel", "title": "Travel"} if slug.startswith("travel") else None}
            for slug, title, _legacy in EXPENSE_CATEGORIES]
    if include_parents:
        rows.insert(0, {"slug": "travel", "code": "TRAVEL", "title": "Travel", "description": None,
                        "instructions": None, "prompt": None, "is_selectable": False, "scope": "company",
                        "status": "active", "parent": None})
    return JSONResponse({"data": rows})


@router.op("GET", "/v1/expenses/{id}", "expense:read")
async def show_expense(ctx: Ctx) -> Response:
    return single("expense", _get(ctx))


def _receipt(ctx: Ctx, upload: Any, field: str, employment: dict[str, Any], errors: dict[str, list[str]]) -> dict | None:
    if not isinstance(upload, dict) or not isinstance(upload.get("name"), str) or \
            not isinstance(upload.get("content"), str):
        errors[field] = ["must have a name and base64 content"]
        return None
    try:
        content = base64.b64decode(upload["content"], validate=True)
    except (binascii.Error, ValueError):
        errors[field] = ["content is not valid base64"]
        return None
    if len(content) > MAX_RECEIPT_BYTES:
        errors[field] = ["is larger than 5 MB"]
        return None
    state = ctx.state
    record = {"id": state.new_id(), "name": upload["name"][:255], "type": "expense_receipt", "sub_type": None,
              "inserted_at": state.now_iso(), "_company_id": employment["_company_id"],
              "_employment_id": employment["id"], "_content": base64.b64encode(content).decode()}
    state.data["files"][record["id"]] = record
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _validate_create(ctx: Ctx, body: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(body["title"], str) or not body["title"].strip():
        errors["title"] = ["can't be blank"]
    for name in ("amount", "tax_amount"):
        value = body.get(name)
        minimum = 1 if name == "amount" else 0
        if name in body and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            errors[name] = [f"must be an integer of at least {minimum} (cents)"]
    if not isinstance(body["currency"], str) or not re.fullmatch(r"[A-Z]{3}", body["currency"]):
        errors["currency"] = ["is invalid"]
    if not is_valid_date(body["expense_date"]):
        errors["expense_date"] = ["is invalid"]
    elif body["expense_date"] > ctx.state.today.isoformat():
        errors["expense_date"] = ["can't be in the future"]
    if "category" in body and body["category"] not in CATEGORIES:
        errors["category"] = ["is invalid"]
    slug = body.get("expense_category_slug")
    if slug is not None and slug not in {s for s, _t, _c in EXPENSE_CATEGORIES}:
        errors["expense_category_slug"] = ["is not a known expense category"]
    if "timezone" in body and (not isinstance(body["timezone"], str) or "/" not in body["timezone"]):
        errors["timezone"] = ["is not a valid IANA time zone"]
    if "reviewed_at" in body and not isinstance(body["reviewed_at"], str):
        errors["reviewed_at"] = ["is invalid"]
    return errors


@router.op("POST", "/v1/expenses", "expense:write")
async def create_expense(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "title", "amount", "currency", "expense_date")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if not isinstance(body["employment_id"], str):
        raise invalid_field("employment_id", "is invalid")
    employment = ctx.get("employments", body["employment_id"], "Employment")
    errors = _validate_create(ctx, body)
    state = ctx.state
    reviewer_id = body.get("reviewer_id") or ctx.principal.user_id
    reviewer = state.data["managers"].get(reviewer_id) if isinstance(reviewer_id, str) else None
    if reviewer is None or reviewer["_company_id"] != employment["_company_id"]:
        errors["reviewer_id"] = ["must be the user id of a manager of the employment's company"]
    if errors:
        raise invalid(errors)
    assert reviewer is not None  # no errors: the reviewer is a manager of the company
    if employment["status"] in ("archived", "deleted") or employment["type"] == "contractor":
        raise conflict("Expenses can only be recorded for employees that are onboarded or onboarding")
    uploads = ([("receipt", body["receipt"])] if "receipt" in body else []) + \
        [(f"receipts.{i}", r) for i, r in enumerate(body.get("receipts") or [])]
    receipts = [_receipt(ctx, upload, field, employment, errors) for field, upload in uploads]
    if errors:
        raise invalid(errors)
    slug = body.get("expense_category_slug")
    category = next((c for c in EXPENSE_CATEGORIES if c[0] == slug), None)
    company_currency = state.data["companies"][employment["_company_id"]]["desired_currency"]
    record = {
        "id": state.new_id(), "employment_id": employment["id"], "title": body["title"].strip(), "status": "approved",
        "amount": body["amount"], "tax_amount": body.get("tax_amount", 0),
        "currency": currency_definition(body["currency"]), "converted_amount": body["amount"],
        "converted_tax_amount": body.get("tax_amount", 0), "converted_currency": currency_definition(company_currency),
        "category": body.get("category") or (category[2] if category else "other"),
        "expense_category": {"code": category[0].upper().replace("-", "_"), "slug": category[0],
                             "title": category[1]} if category else None,
        "expense_date": body["expense_date"], "invoice_period": None, "notes": None, "reason": None,
        "receipts": [r for r in receipts if r], "reviewed_at": body.get("reviewed_at") or state.now_iso(),
        "reviewer": {"user_id": reviewer["user_id"], "user_name": reviewer["user_name"],
                     "user_email": reviewer["user_email"]},
        "_company_id": employment["_company_id"], "_submitted_at": state.now_iso(),
    }
    state.data["expenses"][record["id"]] = record
    state.counters["expenses_created"] += 1
    await ctx.emit("expense.approved", record["_company_id"], employment_id=employment["id"], expense_id=record["id"])
    return single("expense", record, status=201)


@router.op("PATCH", "/v1/expenses/{id}", "expense:write")
async def update_expense(ctx: Ctx) -> Response:
    record = _get(ctx)
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - {"status", "reason"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    status = body.get("status")
    if status not in ("approved", "declined"):
        raise invalid_field("status", "must be approved or declined")
    reason = body.get("reason")
    if status == "declined" and (not isinstance(reason, str) or not reason.strip()):
        raise invalid_field("reason", "can't be blank when declining")
    if status == "approved" and "reason" in body:
        raise invalid_field("reason", "is only given when declining")
    if record["status"] != "pending":
        raise conflict(f"Only pending expenses can be reviewed; this one is {record['status']}")
    reviewer = ctx.state.data["managers"].get(ctx.principal.user_id or "")
    record.update(status=status, reason=reason.strip() if status == "declined" and isinstance(reason, str) else None,
                  reviewed_at=ctx.state.now_iso(),
                  reviewer={"user_id": reviewer["user_id"], "user_name": reviewer["user_name"],
                            "user_email": reviewer["user_email"]} if reviewer else None)
    await ctx.emit(f"expense.{status}", record["_company_id"], employment_id=record["employment_id"],
                   expense_id=record["id"])
    return single("expense", record)


@router.op("GET", "/v1/expenses/{expense_id}/receipts/{receipt_id}", "expense:read")
async def download_receipt(ctx: Ctx) -> Response:
    expense = _get(ctx, "expense_id")
    receipt_id = ctx.param("receipt_id")
    receipt = next((r for r in expense.get("receipts") or [] if r["id"] == receipt_id), None)
    if receipt is None:
        raise not_found("Receipt")
    stored = ctx.state.data["files"].get(receipt_id) or {}
    if stored.get("_content"):
        content = base64.b64decode(stored["_content"])
    else:
        content = render_pdf([f"Receipt: {expense['title']}", f"Date: {expense['expense_date']}",
                              f"Amount: {expense['amount'] / 100:.2f} {expense['currency']['code']}"],
                             title="Receipt")
    media = "application/pdf" if content.startswith(b"%PDF") else "application/octet-stream"
    return Response(content, media_type=media,
                    headers={"content-disposition": f'attachment; filename="{_safe_name(receipt["name"])}"'})


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._ -]", "_", name)[:100] or "receipt"
