"""Contractor invoices, invoice schedules (201/207/422), billing documents, companies and managers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ops_mcp.sandbox.remote import SANDBOX_CREDENTIALS as C
from tests.sandbox.remote_fixtures import NOW, bearer, client, make_app, records

pytestmark = pytest.mark.anyio


async def test_invoice_filters_and_sort():
    app = make_app()
    async with client(app) as c:
        paid = (await c.get("/v1/contractor-invoices", params={"status": "paid_out", "page_size": 100})).json()
        assert paid["data"]["contractor_invoices"]
        assert {i["status"] for i in paid["data"]["contractor_invoices"]} == {"paid_out"}
        window = {"date_from": "2026-03-01", "date_to": "2026-05-31", "sort_by": "date", "order": "asc",
                  "page_size": 100}
        rows = (await c.get("/v1/contractor-invoices", params=window)).json()["data"]["contractor_invoices"]
        dates = [r["date"] for r in rows]
        assert dates == sorted(dates) and all("2026-03-01" <= d <= "2026-05-31" for d in dates)
        one = rows[0]
        shown = (await c.get(f"/v1/contractor-invoices/{one['id']}")).json()["data"]["contractor_invoice"]
        assert shown["amount"] == one["amount"] and isinstance(shown["amount"], int)


async def test_invoice_schedules_bulk_statuses():
    app = make_app()
    contractor = records(app, "employments", type="contractor", status="active")[0]["id"]
    employee = records(app, "employments", type="employee", status="active")[0]["id"]
    good = {"employment_id": contractor, "currency": "EUR", "periodicity": "monthly", "start_date": "2026-07-01",
            "items": [{"amount": 450000, "description": "Retainer"}]}
    async with client(app) as c:
        all_ok = await c.post("/v1/contractor-invoice-schedules", json={"contractor_invoice_schedules": [good]})
        assert all_ok.status_code == 201 and len(all_ok.json()["data"]["successes"]) == 1
        partial = await c.post("/v1/contractor-invoice-schedules", json={"contractor_invoice_schedules": [
            good, {**good, "employment_id": employee, "periodicity": "daily"}]})
        assert partial.status_code == 207
        failure = partial.json()["data"]["failures"][0]
        assert set(failure["errors"]) == {"employment_id", "periodicity"}
        none = await c.post("/v1/contractor-invoice-schedules", json={"contractor_invoice_schedules": [
            {**good, "items": [{"amount": -1, "description": ""}]}]})
        assert none.status_code == 422 and none.json()["data"]["successes"] == []


async def test_billing_documents_and_breakdown():
    app = make_app()
    async with client(app) as c:
        listed = (await c.get("/v1/billing-documents", params={"page_size": 100})).json()["data"]
        invoice = next(d for d in listed["billing_documents"] if d["billing_document_type"] == "reconciliation_invoice")
        period = invoice["billing_document_period"]
        same = (await c.get("/v1/billing-documents", params={"period": period})).json()["data"]["billing_documents"]
        assert {d["billing_document_period"] for d in same} == {period}
        shown = (await c.get(f"/v1/billing-documents/{invoice['id']}")).json()["data"]["billing_document"]
        breakdown = (await c.get(f"/v1/billing-documents/{invoice['id']}/breakdown")).json()["data"]
        rows = breakdown["billing_document_breakdown"]
        assert sum(r["invoice_amount"] for r in rows) == shown["total"]
        fees = (await c.get(f"/v1/billing-documents/{invoice['id']}/breakdown",
                            params={"type": "management_fee"})).json()["data"]["billing_document_breakdown"]
        assert fees and {r["type"] for r in fees} == {"management_fee"}


async def test_companies_and_managers():
    app = make_app()
    async with client(app, token=None) as c:
        token = (await c.post("/auth/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": C["partner_client_id"],
            "client_secret": C["partner_client_secret"]})).json()["access_token"]
        fresh = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        body = {"name": "Initech SA", "company_owner_email": "owner@initech.example",
                "company_owner_name": "Bill Lumbergh", "country_code": "PRT", "desired_currency": "EUR",
                "terms_of_service_accepted_at": fresh}
        created = await c.post("/v1/companies", json=body, params={"action": "get_oauth_access_tokens"},
                               headers=bearer(token))
        assert created.status_code == 201, created.text
        company = created.json()["data"]["company"]
        assert company["status"] == "pending" and created.json()["data"]["tokens"]["expires_in"] == 3600
        duplicate = await c.post("/v1/companies", json=body, headers=bearer(token))
        assert duplicate.status_code == 409
        assert duplicate.json()["message"]["resource_id"] == company["id"]
        assert duplicate.json()["message"]["resource_type"] == "company"
        stale = (NOW - timedelta(minutes=16)).isoformat()
        old = await c.post("/v1/companies", json={**body, "name": "Other", "company_owner_email": "o@o.example",
                                                  "terms_of_service_accepted_at": stale}, headers=bearer(token))
        assert old.status_code == 422 and "terms_of_service_accepted_at" in old.json()["errors"]
        assert (await c.post("/v1/companies", json=body, headers=bearer("acme"))).status_code == 403

        manager = await c.post("/v1/company-managers", headers=bearer("acme"), json={
            "name": "Peter Gibbons", "email": "peter@acme.example", "role": "people_manager"})
        assert manager.status_code == 201  # Remote answers without the `data` wrapper
        assert manager.json()["company_manager"]["role"] == "people_manager"
        again = await c.post("/v1/company-managers", headers=bearer("acme"), json={
            "name": "Peter Gibbons", "email": "peter@acme.example", "role": "people_manager"})
        assert again.status_code == 409
        # A partner-level (client-credentials) token cannot act for a company.
        partner_level = await c.post("/v1/company-managers", headers=bearer(token), json={
            "name": "Milton", "email": "milton@acme.example", "role": "admin"})
        assert partner_level.status_code == 403 and partner_level.json() == {"message": "Forbidden"}
        globex_id = app.state.sandbox.company_by_slug("globex")["id"]
        elsewhere = await c.post("/v1/company-managers", headers=bearer("acme"), json={
            "name": "Milton", "email": "milton@acme.example", "role": "admin", "company_id": globex_id})
        assert elsewhere.status_code == 404
