"""Invoices (§6): draft → open → paid / void, payments, credit notes, already-invoiced, PDF."""

from __future__ import annotations

import pytest

from .helpers_remoteops import completed_work_order, conforms, first, idem, issued_invoice, move

pytestmark = pytest.mark.anyio


async def test_draft_issue_pay_in_two_parts(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await completed_work_order(nw)
    r = await nw.post("/invoices", json={"source": {"work_orders": [wo["id"]]}, "memo": "Thanks"})
    assert r.status_code == 201, r.text
    conforms(r, "/invoices", "POST")
    invoice = r.json()
    assert invoice["status"] == "draft" and invoice["number"] is None
    assert invoice["total"] == invoice["subtotal"] + invoice["tax"] > 0
    pdf = await nw.get(f"/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 409
    r = await nw.post(f"/invoices/{invoice['id']}/issue", json={})
    assert r.status_code == 400 and r.json()["code"] == "idempotency-key-required"
    r = await nw.post(f"/invoices/{invoice['id']}/issue", json={}, headers=idem())
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["number"]
    conforms(r, "/invoices/{invoice_id}/issue", "POST")
    total = r.json()["total"]
    r = await nw.post(f"/invoices/{invoice['id']}/payments", json={"amount": total + 1, "method": "card"},
                      headers=idem())
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/amount"
    r = await nw.post(f"/invoices/{invoice['id']}/payments", json={"amount": 100, "method": "card"}, headers=idem())
    assert r.status_code == 201 and r.json()["invoice"]["status"] == "open"
    assert r.json()["invoice"]["amount_remaining"] == total - 100
    conforms(r, "/invoices/{invoice_id}/payments", "POST")
    r = await nw.post(f"/invoices/{invoice['id']}/payments", json={"amount": total - 100, "method": "bank_transfer"},
                      headers=idem())
    assert r.json()["invoice"]["status"] == "paid" and r.json()["invoice"]["amount_remaining"] == 0
    r = await nw.post(f"/invoices/{invoice['id']}/payments", json={"amount": 1, "method": "cash"}, headers=idem())
    assert r.status_code == 409
    r = await nw.post(f"/invoices/{invoice['id']}/void", json={"reason": "oops"})
    assert r.status_code == 409
    # the work order can now be closed: it is on an issued invoice
    assert (await move(nw, wo["id"], "closed")).status_code == 200
    # ...and can no longer be reopened
    assert (await move(nw, wo["id"], "in_progress", reason_code="other")).status_code == 409


async def test_sequential_numbers_and_already_invoiced(nw) -> None:  # type: ignore[no-untyped-def]
    a = await issued_invoice(nw)
    b = await issued_invoice(nw)
    prefix_a, seq_a = a["number"].rsplit("-", 1)
    prefix_b, seq_b = b["number"].rsplit("-", 1)
    assert prefix_a == prefix_b and int(seq_b) == int(seq_a) + 1
    wo_id = a["source"]["work_order_ids"][0]
    r = await nw.post("/invoices", json={"source": {"work_orders": [wo_id]}})
    assert r.status_code == 409 and r.json()["code"] == "already-invoiced" and r.json()["existing_id"] == a["id"]
    conforms(r, "/invoices", "POST")


async def test_credit_notes_pre_and_post_payment(nw) -> None:  # type: ignore[no-untyped-def]
    invoice = await issued_invoice(nw)
    iid, total = invoice["id"], invoice["total"]
    r = await nw.post(f"/invoices/{iid}/credit-notes", json={"amount": 500, "reason": "goodwill"}, headers=idem())
    assert r.status_code == 201 and r.json()["type"] == "pre_payment"
    conforms(r, "/invoices/{invoice_id}/credit-notes", "POST")
    remaining = r.json()["invoice"]["amount_remaining"]
    assert remaining == total - 500
    r = await nw.post(f"/invoices/{iid}/void", json={"reason": "x"})
    assert r.status_code == 409  # a credit note blocks voiding
    await nw.post(f"/invoices/{iid}/payments", json={"amount": remaining, "method": "card"}, headers=idem())
    body = {"amount": 300, "reason": "service_unsatisfactory", "refund_amount": 200, "credit_amount": 50}
    r = await nw.post(f"/invoices/{iid}/credit-notes", json=body, headers=idem())
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "sum-mismatch"
    body["out_of_band_amount"] = 50
    r = await nw.post(f"/invoices/{iid}/credit-notes", json=body, headers=idem())
    assert r.status_code == 201 and r.json()["type"] == "post_payment"
    assert r.json()["invoice"]["status"] == "paid"
    r = await nw.post(f"/invoices/{iid}/credit-notes", json={"amount": total, "reason": "duplicate",
                                                             "refund_amount": total}, headers=idem())
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "exceeds-total"


async def test_void_and_credit_note_on_draft(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await completed_work_order(nw)
    invoice = (await nw.post("/invoices", json={"source": {"work_orders": [wo["id"]]}})).json()
    r = await nw.post(f"/invoices/{invoice['id']}/credit-notes", json={"amount": 1, "reason": "goodwill"},
                      headers=idem())
    assert r.status_code == 409
    r = await nw.post(f"/invoices/{invoice['id']}/void", json={"reason": "wrong customer"})
    assert r.status_code == 200 and r.json()["status"] == "void"
    conforms(r, "/invoices/{invoice_id}/void", "POST")
    # a voided invoice releases its work order
    r = await nw.post("/invoices", json={"source": {"work_orders": [wo["id"]]}})
    assert r.status_code == 201


async def test_pdf_locale_negotiation(nw) -> None:  # type: ignore[no-untyped-def]
    invoice = await issued_invoice(nw)
    url = f"/invoices/{invoice['id']}/pdf"
    r = await nw.get(url, params={"locale": "fr"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-1.4") and r.content.rstrip().endswith(b"%%EOF")
    assert r.headers["content-language"] == "fr" and b"Facture" in r.content
    assert invoice["number"].encode() in r.content
    conforms(r, "/invoices/{invoice_id}/pdf", "GET")
    r = await nw.get(url, headers={"Accept-Language": "ja, nl;q=0.8, de;q=0.5"})
    assert r.headers["content-language"] == "nl"
    r = await nw.get(url, params={"locale": "ja"})
    assert r.status_code == 422 and r.json()["code"] == "unsupported-locale"


async def test_contract_cycle_invoice(nw) -> None:  # type: ignore[no-untyped-def]
    contract = await first(nw, "/contracts", status="active")
    cycles = (await nw.get(f"/contracts/{contract['id']}/billing-cycles", params={"status": "unbilled"})).json()
    cycle = cycles["data"][0]
    source = {"contract_cycle": contract["id"], "period_start": cycle["period_start"]}
    r = await nw.post("/invoices", json={"source": source})
    assert r.status_code == 201 and r.json()["source"]["type"] == "contract_cycle"
    r2 = await nw.post("/invoices", json={"source": source})
    assert r2.status_code == 409 and r2.json()["existing_id"] == r.json()["id"]
