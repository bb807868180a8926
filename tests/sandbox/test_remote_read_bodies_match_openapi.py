"""Every Remote read of the document, called with real seeded ids, answers a body the document describes.

Schemathesis fuzzes ids that do not exist, so most of its calls end in 404s; this walks the happy path
of every GET (JSON bodies validated against their schema, downloads checked for their documented
content type) so that drift between the emulator and the document fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.remote_fixtures import client, client_credentials_token, make_app, records
from tests.sandbox.remote_openapi import bearer_operations, concrete, problems

pytestmark = pytest.mark.anyio

# Reads whose path names a specific form, region or month.
FIXED = {"country_code": "PRT", "form": "employment_basic_information", "year": "2026", "cycle": "2026-07",
         "slug": "portugal"}
QUERIES = {
    "/v1/employment-contracts": lambda ids: {"employment_id": ids["employment_id"]},
    "/v1/contract-amendments/schema": lambda ids: {"employment_id": ids["employment_id"], "country_code":
                                                  ids["employment_country"], "form": "contract_amendment"},
    "/v1/company-departments": lambda ids: {"company_id": ids["company_id"]},
}
# Ids by path parameter name; some names are shared by several resources.
ID_BY_PATH = {
    "/v1/timeoff/{id}": "timeoff", "/v1/timesheets/{id}": "timesheet", "/v1/contract-amendments/{id}": "amendment",
    "/v1/contractor-invoices/{id}": "invoice", "/v1/contractor-invoice-schedules/{id}": "schedule",
    "/v1/expenses/{id}": "expense", "/v1/incentives/{id}": "incentive", "/v1/offboardings/{id}": "offboarding",
    "/v2/offboardings/{id}": "offboarding", "/v1/probation-extensions/{id}": "probation_extension",
    "/v1/probation-completion-letter/{id}": "probation_letter", "/v1/files/{id}": "file",
    "/v1/work-authorization-requests/{id}": "work_authorization", "/v1/travel-letter-requests/{id}": "travel_letter",
}
CLIENT_CREDENTIALS_READS = {"/v1/companies"}


def sample_ids(app) -> dict[str, str]:
    employment = next(e for e in records(app, "employments", status="active", type="employee")
                      if e["contract_details"])
    expense = next(e for e in records(app, "expenses") if e["receipts"])
    resignation = records(app, "offboardings", type="resignation")[0]
    contractor = next(e for e in records(app, "employments", type="contractor")
                      if any(d["_employment_id"] == e["id"] for d in records(app, "contract_documents")))
    return {
        "company_id": app.state.sandbox.company_by_slug("acme")["id"],
        "employment_id": employment["id"], "employment_country": employment["country"]["code"],
        "timeoff": records(app, "timeoffs")[0]["id"], "timesheet": records(app, "timesheets")[0]["id"],
        "amendment": records(app, "amendments")[0]["id"], "invoice": records(app, "invoices")[0]["id"],
        "schedule": records(app, "schedules")[0]["id"],
        "billing_document_id": records(app, "billing_documents")[0]["id"],
        "user_id": records(app, "managers")[0]["user_id"], "expense": expense["id"], "expense_id": expense["id"],
        "receipt_id": expense["receipts"][0]["id"], "payslip_id": records(app, "payslips")[0]["id"],
        "payroll_run_id": records(app, "payroll_runs")[0]["id"], "incentive": records(app, "incentives")[0]["id"],
        "offboarding": records(app, "offboardings")[0]["id"], "offboarding_request_id": resignation["id"],
        "probation_extension": records(app, "probation_extensions")[0]["id"],
        "probation_letter": records(app, "probation_letters")[0]["id"], "file": records(app, "files")[0]["id"],
        "custom_field_id": records(app, "custom_fields")[0]["id"],
        "work_authorization": records(app, "work_authorizations")[0]["id"],
        "travel_letter": records(app, "travel_letters")[0]["id"], "contractor_id": contractor["id"],
        "leaver_id": records(app, "offboardings")[0]["employment_id"],
        **FIXED,
    }


def requests(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path template, concrete path, query) for every GET of the document."""
    out = []
    for method, path, _op in bearer_operations():
        if method != "GET":
            continue
        values = dict(ids)
        if path in ID_BY_PATH:
            values["id"] = ids[ID_BY_PATH[path]]
        if path == "/v1/employments/{employment_id}/contract-documents":
            values["employment_id"] = ids["contractor_id"]
        if path == "/v1/offboardings/employments/{employment_id}":
            values["employment_id"] = ids["leaver_id"]
        query = QUERIES.get(path, lambda _ids: {})(ids)
        out.append((path, concrete(path, values), query))
    return out


def _lists(body: Any) -> list[list]:
    data = body.get("data", body) if isinstance(body, dict) else body
    if isinstance(data, list):
        return [data]
    found = [v for v in data.values() if isinstance(v, list)] if isinstance(data, dict) else []
    return found + [v for v in body.values() if isinstance(v, list)] if isinstance(body, dict) and body is not data \
        else found


async def test_every_read_answers_a_documented_body():
    app = make_app(rate_limit=100_000)
    ids = sample_ids(app)
    checked = []
    async with client(app) as c:
        partner = {"Authorization": f"Bearer {await client_credentials_token(c)}"}
        # The seed registers no webhook callback (deliveries would go nowhere); register one to list it.
        created = await c.post("/v1/webhook-callbacks", json={"url": "https://hooks.acme.example/remote",
                                                             "subscribed_events": ["employment.updated"]})
        assert created.status_code == 200 and not problems("POST", "/v1/webhook-callbacks", created)
        for path, url, query in requests(ids):
            headers = partner if path in CLIENT_CREDENTIALS_READS else None
            response = await c.get(url, params=query, headers=headers)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            found = problems("GET", path, response)
            assert not found, (path, found)
            if "json" in response.headers["content-type"]:
                # A list that answers [] proves nothing about its items: the seed fills every one.
                assert all(_lists(response.json())), (path, "empty list")
            checked.append(path)
    assert len(checked) == len([op for op in bearer_operations() if op[0] == "GET"]) >= 70
    assert "/v1/payslips/{payslip_id}/pdf" in checked and "/v1/leave-policies/summary/{employment_id}" in checked
