"""Billing documents (Remote's invoices and credit notes to the company): list, show, breakdown, PDF."""

from __future__ import annotations

import re

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.common.pdf import render_pdf
from ops_mcp.sandbox.remote.envelopes import paginated, query, query_bool
from ops_mcp.sandbox.remote.errors import invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()
KNOWN_TYPES = ("reconciliation_invoice", "prefunding_invoice", "supplemental_service_invoice",
               "reconciliation_credit_note")
SUMMARY_FIELDS = ("id", "billing_document_period", "billing_document_type", "bill_from")


@router.op("GET", "/v1/billing-documents", "invoices:read")
async def list_billing_documents(ctx: Ctx) -> Response:
    records = ctx.state.records("billing_documents", ctx.company_ids)
    period = query(ctx.request, "period")
    if period:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            raise invalid_field("period", "must be a month in the form YYYY-MM")
        records = [r for r in records if r["billing_document_period"] == period]
    records.sort(key=lambda r: (r["billing_document_period"], r["id"]), reverse=True)
    return paginated(ctx.request, "billing_documents", [{k: r[k] for k in SUMMARY_FIELDS} for r in records])


@router.op("GET", "/v1/billing-documents/{billing_document_id}", "invoices:read")
async def show_billing_document(ctx: Ctx) -> Response:
    record = ctx.get("billing_documents", ctx.param("billing_document_id"), "Billing document")
    include_unrecognized = bool(query_bool(ctx.request, "include_unrecognized_types"))
    body = {k: v for k, v in record.items() if not k.startswith("_") and k != "bill_from"}
    if not include_unrecognized and record["billing_document_type"] not in KNOWN_TYPES:
        body["billing_document_type"] = "unrecognized"
    return JSONResponse({"data": {"billing_document": body}})


@router.op("GET", "/v1/billing-documents/{billing_document_id}/breakdown", "invoices:read")
async def billing_document_breakdown(ctx: Ctx) -> Response:
    record = ctx.get("billing_documents", ctx.param("billing_document_id"), "Billing document")
    rows = record["_breakdown"]
    kind = query(ctx.request, "type")
    if kind:
        rows = [r for r in rows if r["type"] == kind]
    return JSONResponse({"data": {"billing_document_breakdown": rows}})



@router.op("GET", "/v1/billing-documents/{billing_document_id}/pdf", "invoices:read")
async def billing_document_pdf(ctx: Ctx) -> Response:
    record = ctx.get("billing_documents", ctx.param("billing_document_id"), "Billing document")
    currency = record["billing_document_currency"]
    lines = [f"{record['billing_document_type'].replace('_', ' ').capitalize()} {record['billing_document_number']}",
             f"Period: {record['billing_document_period']}", f"Issued: {record['issued_date']}",
             f"From: {record['bill_from']}"]
    lines += [f"{item['type'].replace('_', ' ')}: {item['billing_document_amount'] / 100:.2f} {currency}"
              for item in record["items"]]
    lines.append(f"Total: {record['total'] / 100:.2f} {currency}")
    pdf = render_pdf(lines, title=record["billing_document_number"])
    return Response(pdf, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="{record["billing_document_number"]}.pdf"'})
