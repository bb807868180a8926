"""Invoices, payments and credit notes (§4 #22–29, §6)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from ops_mcp.sandbox.common.pdf import render_pdf
from ops_mcp.sandbox.remoteops import contracts
from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.problems import ApiError, validation_failed
from ops_mcp.sandbox.remoteops.store import Tenant, public
from ops_mcp.sandbox.remoteops.timeline import add_entry
from ops_mcp.sandbox.remoteops.values import iso, parse_datetime
from ops_mcp.sandbox.remoteops.work_orders import etag, touch

STATUSES = ("draft", "open", "paid", "void")
PAYMENT_METHODS = ("bank_transfer", "card", "direct_debit", "cash", "check", "other")
CREDIT_REASONS = ("duplicate", "order_change", "service_unsatisfactory", "goodwill")
PDF_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv")
CALLOUT_FEE = 4500
HOURLY_RATE = 9500

LABELS = {
    "en": ("Invoice", "Issued", "Due", "Customer", "Total", "Amount remaining"),
    "de": ("Rechnung", "Ausgestellt", "Fällig", "Kunde", "Gesamt", "Offener Betrag"),
    "fr": ("Facture", "Émise le", "Échéance", "Client", "Total", "Reste à payer"),
    "es": ("Factura", "Emitida", "Vencimiento", "Cliente", "Total", "Importe pendiente"),
    "it": ("Fattura", "Emessa", "Scadenza", "Cliente", "Totale", "Importo residuo"),
    "nl": ("Factuur", "Uitgegeven", "Vervaldatum", "Klant", "Totaal", "Openstaand bedrag"),
    "pt": ("Fatura", "Emitida", "Vencimento", "Cliente", "Total", "Valor em dívida"),
    "pl": ("Faktura", "Wystawiona", "Termin", "Klient", "Razem", "Pozostało do zapłaty"),
    "sv": ("Faktura", "Utfärdad", "Förfallodatum", "Kund", "Totalt", "Återstående belopp"),
}


# -- amounts and views ---------------------------------------------------------------------------
def make_line(description: str, quantity: float, unit_amount: int, tax_rate: float, *,
              work_order_id: str | None = None, contract_id: str | None = None,
              period: dict[str, str] | None = None) -> dict[str, Any]:
    amount = round(quantity * unit_amount)
    return {"id": "", "description": description, "quantity": quantity, "unit_amount": unit_amount,
            "tax_rate": tax_rate, "tax_amount": round(amount * tax_rate / 100), "amount": amount,
            "work_order_id": work_order_id, "contract_id": contract_id, "period": period}


def price_lines(tenant: Tenant, lines: list[dict[str, Any]]) -> dict[str, int]:
    subtotal = sum(line["amount"] for line in lines)
    tax = sum(line["tax_amount"] for line in lines)
    return {"subtotal": subtotal, "tax": tax, "total": subtotal + tax}


def amounts(tenant: Tenant, invoice: dict[str, Any]) -> dict[str, int]:
    credit_notes = [tenant.col("credit_notes")[i] for i in invoice.get("_credit_note_ids", [])]
    pre = sum(cn["amount"] for cn in credit_notes if cn["type"] == "pre_payment")
    paid = sum(tenant.col("payments")[p]["amount"] for p in invoice.get("_payment_ids", []))
    due = invoice["total"] - pre
    remaining = 0 if invoice["status"] in ("void", "paid") else max(0, due - paid)
    return {"amount_due": due, "amount_paid": paid, "amount_remaining": remaining,
            "amount_credited": sum(cn["amount"] for cn in credit_notes)}


def refresh_amounts(tenant: Tenant, invoice: dict[str, Any]) -> None:
    invoice.update(amounts(tenant, invoice))


def is_overdue(invoice: dict[str, Any], today: str) -> bool:
    return invoice["status"] == "open" and bool(invoice.get("due_date")) and invoice["due_date"] < today


def view(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    refresh_amounts(tenant, invoice)
    overdue = is_overdue(invoice, ctx.now.date().isoformat())
    if overdue and not invoice.get("_overdue_notified"):
        invoice["_overdue_notified"] = True  # invoice.overdue fires once
        ctx.emit("invoice.overdue", invoice)
    out = public(invoice)
    out["is_overdue"] = overdue
    out["payments"] = [public(tenant.col("payments")[p]) for p in invoice.get("_payment_ids", [])]
    out["credit_notes"] = [public(tenant.col("credit_notes")[c]) for c in invoice.get("_credit_note_ids", [])]
    return out


def snapshot(tenant: Tenant, invoice: dict[str, Any]) -> dict[str, Any]:
    refresh_amounts(tenant, invoice)
    return public(invoice)


# -- list / get ------------------------------------------------------------------------------------
async def list_invoices(ctx: Ctx) -> Reply:
    status = ctx.q_list("status", STATUSES)
    customer, wo_id, contract = ctx.q_str("customer_id"), ctx.q_str("work_order_id"), ctx.q_str("contract_id")
    overdue = ctx.q_bool("overdue")
    due_before = ctx.q_date("due_before")
    issued_after = ctx.q_datetime("issued_after")
    ctx.check_query()
    today = ctx.now.date().isoformat()

    def keep(i: dict[str, Any]) -> bool:
        issued = i["status_transitions"].get("issued_at")
        return ((not status or i["status"] in status) and (not customer or i["customer_id"] == customer)
                and (not wo_id or wo_id in i["work_order_ids"]) and (not contract or i.get("contract_id") == contract)
                and (overdue is None or is_overdue(i, today) == overdue)
                and (not due_before or (i.get("due_date") is not None and i["due_date"] < due_before))
                and (not issued_after or (issued is not None and issued > issued_after)))

    rows = [i for i in ctx.tenant.col("invoices").values() if keep(i)]
    return list_reply(ctx, rows, view=lambda i: view(ctx, i))


async def get_invoice(ctx: Ctx) -> Reply:
    invoice = ctx.tenant.get("invoices", ctx.pid)
    return Reply(view(ctx, invoice), headers={"ETag": etag(invoice)})


# -- create ----------------------------------------------------------------------------------------
def work_order_lines(tenant: Tenant, wo: dict[str, Any]) -> list[dict[str, Any]]:
    minutes = (wo.get("resolution") or {}).get("labor_minutes") or 60
    labour = CALLOUT_FEE + math.ceil(minutes * HOURLY_RATE / 60)
    rate = tenant.tax_rate_bp / 100
    lines = [make_line(f"{wo['number']}: {wo['summary']} — call-out and {minutes} min labour", 1, labour, rate,
                       work_order_id=wo["id"])]
    for part in wo.get("parts_used", []):
        lines.append(make_line(f"{wo['number']}: part {part['sku']}", part["quantity"], part["unit_price"], rate,
                               work_order_id=wo["id"]))
    return lines


def _already_invoiced(tenant: Tenant, invoice_id: str | None) -> dict[str, Any] | None:
    invoice = tenant.find("invoices", invoice_id)
    return invoice if invoice and invoice["status"] != "void" else None


async def create_invoice(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    body = ctx.body()
    body.only(("source", "lines", "due_days", "memo"))
    source = body.obj("source", required=True)
    due_days = body.int("due_days", minimum=0, maximum=365, default=30)
    memo = body.str("memo", max_len=2000)
    extra = []
    for line in body.obj_list("lines", max_items=100) or []:
        line.only(("description", "quantity", "unit_amount", "tax_rate", "work_order_id"))
        description = line.str("description", required=True, max_len=500)
        quantity = line.number("quantity", exclusive_minimum=0, maximum=100000, default=1)
        unit = line.int("unit_amount", required=True, minimum=0, maximum=10**10)
        tax_rate = line.number("tax_rate", minimum=0, maximum=100, default=0)
        line_wo = line.str("work_order_id", max_len=64)
        if description and unit is not None:
            extra.append(make_line(description, quantity, unit, tax_rate, work_order_id=line_wo))
    work_orders: list[dict[str, Any]] = []
    contract = cycle = None
    if source is not None:
        source.only(("work_orders", "contract_cycle", "period_start"))
        wo_ids = source.str_list("work_orders", min_items=1, max_items=50)
        contract_id = source.str("contract_cycle", max_len=64)
        period_start = source.date("period_start")
        if bool(wo_ids) == bool(contract_id):
            source.error("", "one-of", "give exactly one of work_orders or contract_cycle (+ period_start)")
        for i, wo_id in enumerate(wo_ids or []):
            wo = tenant.find("work_orders", wo_id)
            if wo is None:
                source.error(f"work_orders/{i}", "not-found", f"no work order '{wo_id}'")
            elif wo["status"] not in ("completed", "closed") or not wo["billable"]:
                source.error(f"work_orders/{i}", "not-billable",
                             f"{wo_id} is {wo['status']}{'' if wo['billable'] else ', non-billable'}; only "
                             "completed or closed billable work orders can be invoiced")
            else:
                work_orders.append(wo)
        if len({wo["customer_id"] for wo in work_orders}) > 1:
            source.error("work_orders", "mixed-customers", "all work orders must belong to one customer")
        if contract_id:
            contract = tenant.find("contracts", contract_id)
            if contract is None:
                source.error("contract_cycle", "not-found", f"no contract '{contract_id}'")
            elif period_start is None:
                source.error("period_start", "required", "contract_cycle needs period_start")
            else:
                cycles = {c["period_start"]: c for c in contracts.billing_cycles(tenant, contract)}
                cycle = cycles.get(period_start.isoformat())
                if cycle is None:
                    source.error("period_start", "not-found", "no billing cycle of this contract starts on that date")
    body.done()
    for wo in work_orders:
        existing = _already_invoiced(tenant, wo.get("invoice_id"))
        if existing:
            raise ApiError(409, "already-invoiced", f"{wo['id']} is already on invoice {existing['id']}.",
                           existing_id=existing["id"])
    if cycle is not None and contract is not None:
        existing = _already_invoiced(tenant, cycle["invoice_id"])
        if existing:
            raise ApiError(409, "already-invoiced", f"This billing cycle is already on invoice {existing['id']}.",
                           existing_id=existing["id"])
    lines = [line for wo in work_orders for line in work_order_lines(tenant, wo)]
    if cycle is not None and contract is not None:
        lines.append(make_line(f"{contract['number']} service {cycle['period_start']} – {cycle['period_end']}", 1,
                               cycle["amount"], tenant.tax_rate_bp / 100, contract_id=contract["id"],
                               period={"start": cycle["period_start"], "end": cycle["period_end"]}))
    lines += extra
    for n, entry in enumerate(lines, start=1):
        entry["id"] = f"line_{n}"
    customer_id = work_orders[0]["customer_id"] if work_orders else contract["customer_id"]  # type: ignore[index]
    invoice = {
        "id": ctx.state.ids.new("inv"), "object": "invoice", "number": None, "status": "draft",
        "customer_id": customer_id, "currency": tenant.currency, "lines": lines, **price_lines(tenant, lines),
        "source": {"type": "work_orders" if work_orders else "contract_cycle",
                   "work_order_ids": [w["id"] for w in work_orders], "contract_id": contract["id"] if contract else None,
                   "period_start": cycle["period_start"] if cycle else None,
                   "period_end": cycle["period_end"] if cycle else None},
        "work_order_ids": [w["id"] for w in work_orders], "contract_id": contract["id"] if contract else None,
        "period_start": cycle["period_start"] if cycle else None, "due_days": due_days, "due_date": None,
        "issued_at": None, "memo": memo,
        "status_transitions": {"issued_at": None, "paid_at": None, "voided_at": None, "void_reason": None},
        "_payment_ids": [], "_credit_note_ids": [], "version": 1, "livemode": False,
        "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    }
    tenant.col("invoices")[invoice["id"]] = invoice
    for wo in work_orders:
        wo["invoice_id"] = invoice["id"]
    if contract is not None and cycle is not None:
        contract.setdefault("_invoiced", {})[cycle["period_start"]] = invoice["id"]
    ctx.state.effects["invoice"] += 1
    ctx.emit("invoice.created", invoice, snapshot=snapshot(tenant, invoice))
    return Reply(view(ctx, invoice), 201, {"Location": ctx.url_for_path(f"/invoices/{invoice['id']}"),
                                           "ETag": etag(invoice)})


# -- lifecycle ---------------------------------------------------------------------------------------
def _wrong_status(invoice: dict[str, Any], action: str, allowed: tuple[str, ...]) -> ApiError:
    transitions = {"draft": ["open", "void"], "open": ["paid", "void"], "paid": [], "void": []}[invoice["status"]]
    return ApiError(409, "invalid-transition",
                    f"Cannot {action} an invoice that is {invoice['status']}; only {' or '.join(allowed)} invoices.",
                    current_status=invoice["status"], allowed_transitions=transitions)


async def issue_invoice(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    invoice = tenant.get("invoices", ctx.pid)
    body = ctx.body()
    body.only(("due_date", "send_email"))
    due = body.date("due_date")
    send_email = body.bool("send_email", default=False)
    if due and due < ctx.now.date():
        body.error("due_date", "range", "must not be in the past")
    body.done()
    if invoice["status"] != "draft":
        raise _wrong_status(invoice, "issue", ("draft",))
    invoice["status"] = "open"
    # Numbers are sequential per tenant and assigned only on issue, so drafts leave no gaps.
    invoice["number"] = f"{tenant.invoice_prefix}-{ctx.now.year}-{tenant.next_number('invoice_seq', 1):05d}"
    invoice["due_date"] = (due or ctx.now.date() + timedelta(days=invoice["due_days"])).isoformat()
    invoice["status_transitions"]["issued_at"] = invoice["issued_at"] = iso(ctx.now)
    invoice["email_sent"] = bool(send_email)
    touch(ctx, invoice)
    for wo_id in invoice["work_order_ids"]:
        add_entry(ctx.state, tenant, wo_id, "invoice_issued", {"invoice_id": invoice["id"], "number": invoice["number"]})
    ctx.emit("invoice.issued", invoice, {"status": "draft"}, snapshot=snapshot(tenant, invoice))
    return Reply(view(ctx, invoice), headers={"ETag": etag(invoice)})


def _mark_paid_if_settled(ctx: Ctx, invoice: dict[str, Any]) -> None:
    refresh_amounts(ctx.tenant, invoice)
    if invoice["status"] == "open" and invoice["amount_due"] - invoice["amount_paid"] <= 0:
        invoice["status"] = "paid"
        invoice["status_transitions"]["paid_at"] = iso(ctx.now)
        refresh_amounts(ctx.tenant, invoice)
        ctx.emit("invoice.paid", invoice, {"status": "open"}, snapshot=snapshot(ctx.tenant, invoice))


async def record_payment(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    invoice = tenant.get("invoices", ctx.pid)
    body = ctx.body()
    body.only(("amount", "method", "received_at", "reference"))
    amount = body.int("amount", required=True, minimum=1, maximum=10**10)
    method = body.str("method", required=True, enum=PAYMENT_METHODS)
    received_at = body.datetime("received_at")
    reference = body.str("reference", max_len=200)
    body.done()
    if invoice["status"] != "open":
        raise _wrong_status(invoice, "record a payment on", ("open",))
    refresh_amounts(tenant, invoice)
    if amount > invoice["amount_remaining"]:
        raise validation_failed([{"pointer": "/amount", "code": "exceeds-remaining",
                                  "detail": f"must be at most the amount remaining, {invoice['amount_remaining']}"}])
    payment = {"id": ctx.state.ids.new("pay"), "object": "payment", "invoice_id": invoice["id"], "amount": amount,
               "currency": invoice["currency"], "method": method, "received_at": iso(received_at or ctx.now),
               "reference": reference, "livemode": False, "created_at": iso(ctx.now)}
    tenant.col("payments")[payment["id"]] = payment
    invoice["_payment_ids"].append(payment["id"])
    touch(ctx, invoice)
    ctx.state.effects["payment"] += 1
    ctx.emit("invoice.payment_recorded", invoice, None, snapshot=snapshot(tenant, invoice))
    _mark_paid_if_settled(ctx, invoice)
    out = public(payment)
    out["invoice"] = view(ctx, invoice)
    return Reply(out, 201)


async def void_invoice(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    invoice = tenant.get("invoices", ctx.pid)
    body = ctx.body()
    body.only(("reason",))
    reason = body.str("reason", required=True, max_len=500)
    body.done()
    if invoice["status"] not in ("draft", "open"):
        raise _wrong_status(invoice, "void", ("draft", "open"))
    if invoice["_payment_ids"] or invoice["_credit_note_ids"]:
        raise ApiError(409, "invalid-transition",
                       "An invoice with payments or credit notes cannot be voided; issue a credit note instead.",
                       current_status=invoice["status"], allowed_transitions=["paid"])
    invoice["status"] = "void"
    invoice["status_transitions"]["void_reason"] = reason
    invoice["status_transitions"]["voided_at"] = iso(ctx.now)
    touch(ctx, invoice)
    for wo_id in invoice["work_order_ids"]:
        wo = tenant.find("work_orders", wo_id)
        if wo and wo.get("invoice_id") == invoice["id"]:
            wo["invoice_id"] = None
    if invoice.get("contract_id") and invoice.get("period_start"):
        contract = tenant.col("contracts")[invoice["contract_id"]]
        contract.get("_invoiced", {}).pop(invoice["period_start"], None)
    ctx.emit("invoice.voided", invoice, None, snapshot=snapshot(tenant, invoice))
    return Reply(view(ctx, invoice), headers={"ETag": etag(invoice)})


def negotiate_locale(ctx: Ctx, invoice: dict[str, Any]) -> str:
    requested = ctx.query.get("locale")
    if requested:
        if requested.split("-")[0].lower() not in PDF_LOCALES:
            raise ApiError(422, "unsupported-locale", f"Locale '{requested}' is not supported.",
                           supported_locales=list(PDF_LOCALES),
                           errors=[{"pointer": "/query/locale", "code": "enum",
                                    "detail": f"must be one of: {', '.join(PDF_LOCALES)}"}])
        return requested.split("-")[0].lower()
    accept = ctx.request.headers.get("accept-language", "")
    choices = []
    for i, item in enumerate(accept.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            choices.append((-q, i, tag.split("-")[0].lower()))
    for _, _, language in sorted(choices):
        if language in PDF_LOCALES:
            return language
    customer = ctx.tenant.find("customers", invoice["customer_id"]) or {}
    preferred = (customer.get("preferred_locale") or "en").split("-")[0].lower()
    return preferred if preferred in PDF_LOCALES else "en"


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency}"


async def get_invoice_pdf(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    invoice = tenant.get("invoices", ctx.pid)
    locale = negotiate_locale(ctx, invoice)
    if invoice["status"] == "draft":
        raise ApiError(409, "invalid-transition", "A draft invoice has no PDF yet; issue it first.",
                       current_status="draft", allowed_transitions=["open", "void"])
    refresh_amounts(tenant, invoice)
    label = dict(zip(("invoice", "issued", "due", "customer", "total", "remaining"), LABELS[locale], strict=True))
    customer = tenant.find("customers", invoice["customer_id"]) or {}
    issued = parse_datetime(invoice["status_transitions"]["issued_at"]).date().isoformat()
    text = [f"{label['invoice']} {invoice['number']}", tenant.name, "",
            f"{label['customer']}: {customer.get('name', invoice['customer_id'])}",
            f"{label['issued']}: {issued}", f"{label['due']}: {invoice['due_date']}", ""]
    text += [f"{line['quantity']} x {line['description']}  {_money(line['amount'], invoice['currency'])}"
             for line in invoice["lines"]]
    text += ["", f"{label['total']}: {_money(invoice['total'], invoice['currency'])}",
             f"{label['remaining']}: {_money(invoice['amount_remaining'], invoice['currency'])}",
             f"Status: {invoice['status']}"]
    pdf = render_pdf(text, title=f"{label['invoice']} {invoice['number']}")
    return Reply(content=pdf, media_type="application/pdf",
                 headers={"Content-Language": locale, "Vary": "Accept-Language",
                          "Content-Disposition": f'inline; filename="{invoice["number"]}.pdf"'})


async def create_credit_note(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    invoice = tenant.get("invoices", ctx.pid)
    body = ctx.body()
    body.only(("lines", "amount", "reason", "memo", "refund_amount", "credit_amount", "out_of_band_amount"))
    reason = body.str("reason", required=True, enum=CREDIT_REASONS)
    memo = body.str("memo", max_len=2000)
    amount = body.int("amount", minimum=1, maximum=10**10)
    lines = []
    invoice_lines = {line["id"]: line for line in invoice["lines"]}
    for i, line in enumerate(body.obj_list("lines", min_items=1, max_items=100) or []):
        line.only(("invoice_line_id", "quantity", "amount"))
        line_id = line.str("invoice_line_id", required=True, max_len=64)
        quantity = line.number("quantity", exclusive_minimum=0, maximum=100000)
        line_amount = line.int("amount", minimum=1, maximum=10**10)
        source = invoice_lines.get(line_id)
        if line_id and source is None:
            body.error(f"lines/{i}/invoice_line_id", "not-found", f"no line '{line_id}' on this invoice")
            continue
        if source is None:
            continue
        if quantity is not None and quantity > source["quantity"]:
            body.error(f"lines/{i}/quantity", "range", "must not exceed the invoice line's quantity")
        share = (quantity or source["quantity"]) / source["quantity"]
        gross = round((source["amount"] + source["tax_amount"]) * share)
        lines.append({"invoice_line_id": line_id, "description": source["description"],
                      "quantity": quantity or source["quantity"], "amount": line_amount or gross})
    if (amount is None) == (not lines):
        body.error("", "one-of", "give exactly one of amount or lines")
    split = {name: body.int(name, minimum=0, maximum=10**10)
             for name in ("refund_amount", "credit_amount", "out_of_band_amount")}
    body.done()
    total = amount if amount is not None else sum(line["amount"] for line in lines)
    if invoice["status"] not in ("open", "paid"):
        raise _wrong_status(invoice, "credit", ("open", "paid"))
    refresh_amounts(tenant, invoice)
    errors = []
    if invoice["amount_credited"] + total > invoice["total"]:
        errors.append({"pointer": "/amount" if amount is not None else "/lines", "code": "exceeds-total",
                       "detail": f"all credit notes together must not exceed the invoice total "
                                 f"({invoice['total'] - invoice['amount_credited']} left to credit)"})
    if invoice["status"] == "open":
        kind = "pre_payment"
        if total > invoice["amount_remaining"]:
            errors.append({"pointer": "/amount" if amount is not None else "/lines", "code": "exceeds-remaining",
                           "detail": f"a pre-payment credit note must not exceed the amount remaining, "
                                     f"{invoice['amount_remaining']}"})
    else:
        kind = "post_payment"
        parts = sum(v or 0 for v in split.values())
        if parts != total:
            errors.append({"pointer": "/refund_amount", "code": "sum-mismatch",
                           "detail": f"for a paid invoice refund_amount + credit_amount + out_of_band_amount must "
                                     f"equal the credit note total {total} (got {parts})"})
    if errors:
        raise validation_failed(errors)
    credit_note = {
        "id": ctx.state.ids.new("cn"), "object": "credit_note",
        "number": f"CN-{tenant.invoice_prefix}-{tenant.next_number('credit_note', 1):05d}",
        "invoice_id": invoice["id"], "customer_id": invoice["customer_id"], "type": kind, "status": "issued",
        "amount": total, "currency": invoice["currency"],
        "lines": lines or [{"invoice_line_id": None, "description": reason, "quantity": None, "amount": total}],
        "reason": reason, "memo": memo,
        "refund_amount": split["refund_amount"] or 0 if kind == "post_payment" else 0,
        "credit_amount": split["credit_amount"] or 0 if kind == "post_payment" else 0,
        "out_of_band_amount": split["out_of_band_amount"] or 0 if kind == "post_payment" else 0,
        "livemode": False, "created_at": iso(ctx.now),
    }
    tenant.col("credit_notes")[credit_note["id"]] = credit_note
    invoice["_credit_note_ids"].append(credit_note["id"])
    touch(ctx, invoice)
    ctx.state.effects["credit_note"] += 1
    ctx.emit("credit_note.issued", credit_note)
    if kind == "pre_payment":
        _mark_paid_if_settled(ctx, invoice)
    out = public(credit_note)
    out["invoice"] = view(ctx, invoice)
    return Reply(out, 201)


OPERATIONS = [
    Operation("GET", "/invoices", "listInvoices", "safe", list_invoices),
    Operation("POST", "/invoices", "createInvoice", "key-optional", create_invoice),
    Operation("GET", "/invoices/{invoice_id}", "getInvoice", "safe", get_invoice),
    Operation("POST", "/invoices/{invoice_id}/issue", "issueInvoice", "key-required", issue_invoice),
    Operation("POST", "/invoices/{invoice_id}/payments", "recordInvoicePayment", "key-required", record_payment),
    Operation("POST", "/invoices/{invoice_id}/void", "voidInvoice", "key-optional", void_invoice),
    Operation("GET", "/invoices/{invoice_id}/pdf", "getInvoicePdf", "safe", get_invoice_pdf),
    Operation("POST", "/invoices/{invoice_id}/credit-notes", "createCreditNote", "key-required", create_credit_note),
]
