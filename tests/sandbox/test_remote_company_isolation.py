"""A company-scoped partner token (authorization-code flow, Acme) is served only Acme's data, by every path:
no list or read answer carries an id of Globex; every read or write naming a Globex id answers 404 and
changes nothing; filters naming Globex narrow to nothing; creates naming Globex employments are refused.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.sandbox.remote_fixtures import bearer, client, company_token, make_app, records
from tests.sandbox.remote_openapi import bearer_operations, concrete
from tests.sandbox.test_remote_read_bodies_match_openapi import ID_BY_PATH, QUERIES, sample_ids

pytestmark = pytest.mark.anyio

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COMPANY_OPS = [(m, p) for m, p, op in bearer_operations() if op["x-token-kind"] == "company"]
READS = [p for m, p in COMPANY_OPS if m == "GET"]
NOT_IDS = {"cycle", "country_code", "year", "form", "slug"}  # path parameters that name no company's record
WITH_IDS = [(m, p) for m, p in COMPANY_OPS if set(re.findall(r"\{([^}]+)\}", p)) - NOT_IDS]


def _globex_ids(app) -> set[str]:
    state = app.state.sandbox
    globex = state.company_by_slug("globex")["id"]
    ids = {globex}
    for collection in state.data.values():
        for record in collection.values():
            if record.get("_company_id") == globex:
                ids.update(v for k, v in record.items() if isinstance(v, str) and UUID.fullmatch(v)
                           and (k in ("id", "user_id", "contract_id") or k.endswith("_id")))
    acme = _acme_ids(app)
    return ids - acme  # ids shared by both companies (none expected) are not evidence of a leak


def _acme_ids(app) -> set[str]:
    state = app.state.sandbox
    acme = state.company_by_slug("acme")["id"]
    return {v for collection in state.data.values() for record in collection.values()
            if record.get("_company_id") == acme for v in record.values() if isinstance(v, str) and UUID.fullmatch(v)}


def _globex_values(app) -> dict[str, str]:
    """Path-parameter values naming Globex's records."""
    ids = sample_ids(app)
    globex = {}
    for key, value in ids.items():
        globex[key] = value
    sandbox = app.state.sandbox
    swap = {
        "company_id": sandbox.company_by_slug("globex")["id"],
        "employment_id": records(app, "employments", "globex", status="active", type="employee")[0]["id"],
        "contractor_id": records(app, "employments", "globex", type="contractor")[0]["id"],
        "leaver_id": records(app, "offboardings", "globex")[0]["employment_id"],
        "timeoff": records(app, "timeoffs", "globex")[0]["id"], "timesheet": records(app, "timesheets", "globex")[0]["id"],
        "amendment": records(app, "amendments", "globex")[0]["id"],
        "invoice": records(app, "invoices", "globex")[0]["id"], "schedule": records(app, "schedules", "globex")[0]["id"],
        "billing_document_id": records(app, "billing_documents", "globex")[0]["id"],
        "user_id": records(app, "managers", "globex")[0]["user_id"],
        "expense": records(app, "expenses", "globex")[0]["id"], "payslip_id": records(app, "payslips", "globex")[0]["id"],
        "payroll_run_id": records(app, "payroll_runs", "globex")[0]["id"],
        "incentive": records(app, "incentives", "globex")[0]["id"],
        "offboarding": records(app, "offboardings", "globex")[0]["id"],
        "offboarding_request_id": records(app, "offboardings", "globex", type="resignation")[0]["id"],
        "probation_extension": records(app, "probation_extensions", "globex")[0]["id"],
        "probation_letter": records(app, "probation_letters", "globex")[0]["id"],
        "file": records(app, "files", "globex")[0]["id"], "custom_field_id": records(app, "custom_fields", "globex")[0]["id"],
        "work_authorization": records(app, "work_authorizations", "globex")[0]["id"],
        "travel_letter": records(app, "travel_letters", "globex")[0]["id"],
    }
    expense = next(e for e in records(app, "expenses", "globex") if e["receipts"])
    swap.update(expense_id=expense["id"], receipt_id=expense["receipts"][0]["id"])
    globex.update(swap)
    return globex


def _url(path: str, values: dict[str, str]) -> str:
    filled = {**values, "id": values[ID_BY_PATH[path]] if path in ID_BY_PATH else values["timeoff"],
              "timeoff_id": values["timeoff"], "timesheet_id": values["timesheet"]}
    if path == "/v1/employments/{employment_id}/contract-documents":
        filled["employment_id"] = values["contractor_id"]
    return concrete(path, filled)


async def test_lists_and_reads_carry_no_id_of_another_company():
    app = make_app(rate_limit=100_000)
    acme_values = sample_ids(app)
    leaks = _globex_ids(app)
    assert len(leaks) > 500
    async with client(app, token=None) as c:
        token = bearer((await company_token(app, c, "acme"))["access_token"])
        checked = 0
        for path in READS:
            query = QUERIES.get(path, lambda _ids: {})(acme_values)
            response = await c.get(_url(path, acme_values), params=query, headers=token)
            assert response.status_code == 200, (path, response.text[:200])
            if "json" in response.headers["content-type"]:
                found = set(UUID.findall(response.text)) & leaks
                assert not found, (path, sorted(found)[:3])
            checked += 1
    assert checked == len(READS) >= 65


@pytest.mark.parametrize(("method", "path"), WITH_IDS, ids=[f"{m} {p}" for m, p in WITH_IDS])
async def test_another_companys_ids_are_not_found(method, path):
    app = make_app()
    async with client(app, token=None) as c:
        token = bearer((await company_token(app, c, "acme"))["access_token"])
        url = _url(path, _globex_values(app))
        before = json.dumps(app.state.sandbox.data, sort_keys=True, default=str)
        response = await c.request(method, url, headers=token, json={} if method in ("POST", "PUT", "PATCH") else None)
    assert response.status_code == 404, (url, response.status_code, response.text[:200])
    assert response.json()["message"].endswith("not found")
    assert json.dumps(app.state.sandbox.data, sort_keys=True, default=str) == before


async def test_filters_and_bodies_naming_another_company_find_nothing():
    app = make_app()
    globex = _globex_values(app)
    async with client(app, token=None) as c:
        token = bearer((await company_token(app, c, "acme"))["access_token"])
        for path, key in (("/v1/timeoff", "timeoffs"), ("/v1/payslips", "payslips"), ("/v1/incentives", "incentives"),
                          ("/v1/offboardings", "offboardings"), ("/v2/offboardings", "offboardings"),
                          ("/v1/work-authorization-requests", "work_authorization_requests")):
            body = (await c.get(path, params={"employment_id": globex["employment_id"]}, headers=token)).json()
            assert body["data"][key] == [], path
        for path in ("/v1/employments", "/v1/company-managers", "/v1/webhook-events"):
            body = (await c.get(path, params={"company_id": globex["company_id"]}, headers=token)).json()
            assert all(v == [] for v in body["data"].values() if isinstance(v, list)), path
        departments = await c.get("/v1/company-departments", params={"company_id": globex["company_id"]},
                                  headers=token)
        assert departments.status_code == 404
        before = json.dumps(app.state.sandbox.data, sort_keys=True, default=str)
        creates = [
            ("/v1/expenses", {"employment_id": globex["employment_id"], "title": "Taxi", "amount": 100,
                              "currency": "EUR", "expense_date": "2026-06-01"}),
            ("/v1/incentives", {"employment_id": globex["employment_id"], "type": "bonus", "amount": 100,
                                "amount_tax_type": "gross", "effective_date": "2026-07-01"}),
            ("/v1/probation-completion-letter", {"employment_id": globex["employment_id"]}),
            ("/v1/company-departments", {"company_id": globex["company_id"], "name": "Spies"}),
            ("/v1/company-managers", {"name": "Eve", "email": "eve@acme.example", "role": "admin",
                                      "company_id": globex["company_id"]}),
            ("/v1/offboardings", {"employment_id": globex["employment_id"], "type": "termination",
                                  "termination_details": {"confidential": False, "proposed_termination_date": "2026-09-01",
                                                          "termination_reason": "performance", "reason_description": "x",
                                                          "risk_assessment_reasons": ["none_of_these"],
                                                          "will_challenge_termination": False}}),
            ("/v1/timeoff", {"employment_id": globex["employment_id"], "start_date": "2026-09-01",
                             "end_date": "2026-09-01", "timezone": "Europe/London", "status": "approved",
                             "timeoff_days": [{"day": "2026-09-01", "hours": 8}], "timeoff_type": "paid_time_off",
                             "approver_id": records(app, "managers")[0]["user_id"],
                             "approved_at": "2026-06-15T09:00:00Z"}),
        ]
        for path, body in creates:
            response = await c.post(path, json=body, headers=token)
            assert response.status_code == 404, (path, response.status_code, response.text[:200])
        assert json.dumps(app.state.sandbox.data, sort_keys=True, default=str) == before
