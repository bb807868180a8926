"""Every Remote write of the document, called with a valid body on seeded data, answers a 2xx body that
the document describes (status code included: Remote's spec says 200 for some creates, 201 for others).

The calls run in one story on one sandbox, in an order that keeps each call valid (an employment is
created before its forms are filled, a pending expense is reviewed before ...). The test also fails
when a write of the document has no call here, so new operations cannot skip the check.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.sandbox.remote_fixtures import (
    NOW,
    bearer,
    client,
    client_credentials_token,
    make_app,
    manager_id,
    records,
)
from tests.sandbox.remote_openapi import bearer_operations, problems

pytestmark = pytest.mark.anyio

PRT_BASIC = {
    "name": "Rita Sousa", "email": "rita.sousa@mail.example", "job_title": "Data Engineer",
    "provisional_start_date": "2026-08-03", "has_seniority_date": "no",
    "tax_servicing_countries": ["Portugal"], "tax_job_category": "engineering_it",
}
PRT_BLOCKS = {
    "address-details": {"address_details": {"address": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048"}},
    "administrative-details": {"administrative_details": {"tax_identification_number": "123456789",
                                                          "marital_status": "single"}},
    "bank-account-details": {"bank_account_details": {"account_holder": "Rita Sousa",
                                                      "iban": "PT50000201231234567890154"}},
    "basic-information": {"basic_information": {**PRT_BASIC, "job_title": "Senior Data Engineer"}},
    "billing-address-details": {"billing_address_details": {"address": "Rua Augusta 1", "city": "Lisboa",
                                                            "postal_code": "1100-048"}},
    "contract-details": {"contract_details": {
        "annual_gross_salary": 3000000, "work_schedule": "full_time", "work_hours_per_week": 40,
        "contract_duration_type": "indefinite", "role_description": "Builds data pipelines and owns the warehouse."}},
    "emergency-contact": {"emergency_contact_details": {"name": "Ana", "relationship": "partner",
                                                        "phone_number": "+351912345678"}},
    "personal-details": {"personal_details": {"date_of_birth": "1990-04-02", "nationality": "Portugal",
                                              "phone_number": "+351912345679", "nif": "123456789"}},
    "pricing-plan-details": {"pricing_plan_details": {"frequency": "monthly"}},
}


class Story:
    def __init__(self, app, c, partner_token: str) -> None:
        self.app, self.c, self.partner = app, c, partner_token
        self.checked: set[tuple[str, str]] = set()

    async def call(self, method: str, template: str, url: str, body: Any = None, partner: bool = False,
                   query: dict | None = None) -> dict:
        headers = bearer(self.partner) if partner else None
        response = await self.c.request(method, url, json=body, params=query, headers=headers)
        assert response.status_code < 300, (method, template, response.status_code, response.text[:400])
        found = problems(method, template, response)
        assert not found, (method, template, found)
        self.checked.add((method, template))
        return response.json()


async def _employments(s: Story) -> None:
    created = await s.call("POST", "/v1/employments", "/v1/employments",
                           {"country_code": "PRT", "basic_information": PRT_BASIC})
    hire = created["data"]["employment"]["id"]
    for suffix, body in PRT_BLOCKS.items():
        template = f"/v2/employments/{{employment_id}}/{suffix}"
        await s.call("PUT", template, f"/v2/employments/{hire}/{suffix}", body)
    await s.call("PATCH", "/v1/employments/{employment_id}", f"/v1/employments/{hire}",
                 {"pricing_plan_details": {"frequency": "annually"}})
    await s.call("PUT", "/v1/employments/{employment_id}", f"/v1/employments/{hire}",
                 {"pricing_plan_details": {"frequency": "monthly"}})
    await s.call("PATCH", "/v2/employments/{employment_id}", f"/v2/employments/{hire}", {"external_id": "HR-9"})
    await s.call("PUT", "/v2/employments/{employment_id}", f"/v2/employments/{hire}", {"external_id": "HR-10"})
    await s.call("POST", "/v1/employments/{employment_id}/invite", f"/v1/employments/{hire}/invite")
    await s.call("POST", "/v1/ready", "/v1/ready", {"employment_id": hire})
    created = records(s.app, "employments", status="created")[0]["id"]
    await s.call("POST", "/v1/cancel-onboarding/{employment_id}", f"/v1/cancel-onboarding/{created}")


async def _contracts_and_time(s: Story) -> None:
    app = s.app
    employment = next(e for e in records(app, "employments", status="active", type="employee")
                      if e["active_contract_id"] and e["country"]["code"] == "PRT")
    await s.call("POST", "/v1/contract-amendments", "/v1/contract-amendments", {
        "employment_id": employment["id"], "amendment_contract_id": employment["active_contract_id"],
        "contract_amendment": {"annual_gross_salary": employment["_salary"] + 100000, "work_schedule": "full_time",
                               "work_hours_per_week": 40, "effective_date": "2026-09-01",
                               "reason_for_change": "annual_pay_adjustment"}})
    day = (NOW + timedelta(days=200)).date().isoformat()
    created = await s.call("POST", "/v1/timeoff", "/v1/timeoff", {
        "employment_id": employment["id"], "start_date": day, "end_date": day, "timezone": "Europe/Lisbon",
        "timeoff_days": [{"day": day, "hours": 8}], "status": "approved", "approver_id": manager_id(app),
        "approved_at": "2026-06-15T09:00:00Z", "timeoff_type": "paid_time_off"})
    timeoff = created["data"]["timeoff"]["id"]
    for method in ("PATCH", "PUT"):
        await s.call(method, "/v1/timeoff/{id}", f"/v1/timeoff/{timeoff}",
                     {"notes": f"{method} edit", "edit_reason": "Notes", "cancel_reason": ""})
    await s.call("POST", "/v1/timeoff/{timeoff_id}/cancel", f"/v1/timeoff/{timeoff}/cancel",
                 {"cancel_reason": "Plans changed"})
    requested = records(app, "timeoffs", status="requested")
    await s.call("POST", "/v1/timeoff/{timeoff_id}/approve", f"/v1/timeoff/{requested[0]['id']}/approve",
                 {"approver_id": manager_id(app)})
    await s.call("POST", "/v1/timeoff/{timeoff_id}/decline", f"/v1/timeoff/{requested[1]['id']}/decline",
                 {"decline_reason": "Team coverage"})
    pending = records(app, "timeoffs", status="cancel_requested")
    await s.call("POST", "/v1/timeoff/{timeoff_id}/cancel-request/approve",
                 f"/v1/timeoff/{pending[0]['id']}/cancel-request/approve")
    await s.call("POST", "/v1/timeoff/{timeoff_id}/cancel-request/decline",
                 f"/v1/timeoff/{pending[1]['id']}/cancel-request/decline", {"decline_reason": "Needed"})
    submitted = records(app, "timesheets", status="submitted")
    await s.call("POST", "/v1/timesheets/{timesheet_id}/approve", f"/v1/timesheets/{submitted[0]['id']}/approve")
    await s.call("POST", "/v1/timesheets/{timesheet_id}/send-back", f"/v1/timesheets/{submitted[1]['id']}/send-back",
                 {"sent_back_reason": "Split overtime"})


async def _company(s: Story) -> None:
    app = s.app
    acme = app.state.sandbox.company_by_slug("acme")
    fresh = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    await s.call("POST", "/v1/companies", "/v1/companies", {
        "name": "Initech SA", "company_owner_email": "owner@initech.example", "company_owner_name": "Bill",
        "country_code": "PRT", "desired_currency": "EUR", "terms_of_service_accepted_at": fresh}, partner=True,
        query={"action": "get_oauth_access_tokens"})
    await s.call("PATCH", "/v1/companies/{company_id}", f"/v1/companies/{acme['id']}", {"phone_number": "+4930111"})
    created = await s.call("POST", "/v1/company-managers", "/v1/company-managers",
                           {"name": "Peter", "email": "peter@acme.example", "role": "people_manager"})
    user = created["company_manager"]["user_id"]
    await s.call("DELETE", "/v1/company-managers/{user_id}", f"/v1/company-managers/{user}")
    await s.call("POST", "/v1/company-departments", "/v1/company-departments",
                 {"company_id": acme["id"], "name": "Research"})
    field = await s.call("POST", "/v1/custom-fields", "/v1/custom-fields", {
        "name": "Shoe size", "type": "integer", "required": False, "data_entry_access": "company_admin_only",
        "visibility_scope": "everyone"})
    employment = records(app, "employments", status="active")[0]["id"]
    await s.call("PATCH", "/v1/custom-fields/{custom_field_id}/values/{employment_id}",
                 f"/v1/custom-fields/{field['data']['custom_field']['id']}/values/{employment}", {"value": 42})


async def _money(s: Story) -> None:
    app = s.app
    contractor = next(e for e in records(app, "employments", status="active", type="contractor"))
    await s.call("POST", "/v1/contractor-invoice-schedules", "/v1/contractor-invoice-schedules", {
        "contractor_invoice_schedules": [{"employment_id": contractor["id"], "currency": "EUR",
                                          "periodicity": "monthly", "start_date": "2026-07-01",
                                          "items": [{"amount": 100000, "description": "Retainer"}]}]})
    schedule = records(app, "schedules")[0]["id"]
    await s.call("PATCH", "/v1/contractor-invoice-schedules/{id}", f"/v1/contractor-invoice-schedules/{schedule}",
                 {"items": [{"amount": 120000, "description": "Retainer"}]})
    employee = records(app, "employments", status="active", type="employee")[0]["id"]
    await s.call("POST", "/v1/expenses", "/v1/expenses", {
        "employment_id": employee, "title": "Taxi", "amount": 2500, "currency": "EUR", "expense_date": "2026-06-10"})
    pending = records(app, "expenses", status="pending")[0]["id"]
    await s.call("PATCH", "/v1/expenses/{id}", f"/v1/expenses/{pending}", {"status": "approved"})
    one_off = await s.call("POST", "/v1/incentives", "/v1/incentives", {
        "employment_id": employee, "type": "bonus", "amount": 50000, "amount_tax_type": "gross",
        "effective_date": "2026-08-01"})
    incentive = one_off["data"]["incentive"]["id"]
    await s.call("PATCH", "/v1/incentives/{id}", f"/v1/incentives/{incentive}", {"amount": 60000})
    await s.call("DELETE", "/v1/incentives/{id}", f"/v1/incentives/{incentive}")
    recurring = await s.call("POST", "/v1/incentives/recurring", "/v1/incentives/recurring", {
        "employment_id": employee, "type": "internet_allowance", "amount": 3000, "amount_tax_type": "net",
        "effective_date": "2026-06-01", "duration_in_months": "6"})
    await s.call("DELETE", "/v1/incentives/recurring/{id}",
                 f"/v1/incentives/recurring/{recurring['data']['recurring_incentive']['id']}")
    await s.call("POST", "/v1/cost-calculator/estimation", "/v1/cost-calculator/estimation", {
        "employer_currency_slug": "eur", "include_cost_breakdowns": True,
        "employments": [{"region_slug": "portugal", "annual_gross_salary": 3000000}]})


async def _people(s: Story) -> None:
    app = s.app
    active = records(app, "employments", status="active", type="employee")
    leaver = next(e for e in active if not records(app, "offboardings", employment_id=e["id"]))
    await s.call("POST", "/v1/offboardings", "/v1/offboardings", {
        "employment_id": leaver["id"], "type": "termination", "termination_details": {
            "confidential": False, "proposed_termination_date": "2026-08-31", "termination_reason": "performance",
            "reason_description": "Goals missed twice.", "risk_assessment_reasons": ["none_of_these"],
            "will_challenge_termination": False}})
    resignation = next(r for r in records(app, "offboardings", type="resignation") if not r.get("_validated"))
    started = app.state.sandbox.data["employments"][resignation["employment_id"]]["provisional_start_date"] <= "2026-06-15"
    answers = {k: True for k in ("accepts_proposed_notice", "agrees_to_pto_amount", "agrees_to_resignation_reason",
                                 "has_additional_information", "has_more_salary_info",
                                 "is_owed_outstanding_reimbursements", "will_take_more_pto")} if started else \
        {"proposed_resignation_accepted": True}
    await s.call("PUT", "/v1/resignations/{offboarding_request_id}/validate",
                 f"/v1/resignations/{resignation['id']}/validate", answers)
    employee = next(e for e in active[20:] if e["id"] != leaver["id"])["id"]
    await s.call("POST", "/v1/probation-extensions", "/v1/probation-extensions", {
        "employment_id": employee, "duration_of_extension_in_days": 30, "reason_for_extension": "More time",
        "was_employee_informed": True})
    await s.call("POST", "/v1/probation-completion-letter", "/v1/probation-completion-letter",
                 {"employment_id": employee})
    work = records(app, "work_authorizations", status="pending")[0]["id"]
    await s.call("PATCH", "/v1/work-authorization-requests/{id}", f"/v1/work-authorization-requests/{work}",
                 {"status": "approved_by_manager"})
    letter = records(app, "travel_letters", status="pending")[0]["id"]
    await s.call("PATCH", "/v1/travel-letter-requests/{id}", f"/v1/travel-letter-requests/{letter}", {
        "status": "approved_by_manager", "responsible_for_accommodation_cost": "employer",
        "responsible_for_meal_cost": "employee", "responsible_for_travel_cost": "employer"})


async def _webhooks(s: Story) -> None:
    created = await s.call("POST", "/v1/webhook-callbacks", "/v1/webhook-callbacks",
                           {"url": "https://hooks.acme.example/remote", "subscribe_to_all_events": True})
    callback = created["data"]["webhook_callback"]["id"]
    await s.call("PATCH", "/v1/webhook-callbacks/{id}", f"/v1/webhook-callbacks/{callback}",
                 {"subscribed_events": ["employment.updated"], "subscribe_to_all_events": False})
    employment = records(s.app, "employments", status="active")[0]["id"]
    await s.call("POST", "/v1/sandbox/webhook-callbacks/trigger", "/v1/sandbox/webhook-callbacks/trigger",
                 {"employment_id": employment, "event_type": "employment.updated"})
    event = records(s.app, "webhook_events")[0]["id"]
    await s.call("POST", "/v1/webhook-events/replay", "/v1/webhook-events/replay", {"event_ids": [event]})
    await s.call("DELETE", "/v1/webhook-callbacks/{id}", f"/v1/webhook-callbacks/{callback}")


async def test_every_write_answers_a_documented_body():
    # Deliveries go to an ASGI app answering 204, so nothing leaves the process.
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def sink(_request):
        return Response(status_code=204)

    receiver = Starlette(routes=[Route("/remote", sink, methods=["POST"])])
    app = make_app(rate_limit=100_000, webhook_transport=httpx.ASGITransport(receiver), webhook_time_scale=0.0001)
    async with client(app) as c:
        story = Story(app, c, await client_credentials_token(c))
        for chapter in (_employments, _contracts_and_time, _company, _money, _people, _webhooks):
            await chapter(story)
        await app.state.sandbox.deliverer.drain(5)
    writes = {(m, p) for m, p, _op in bearer_operations() if m != "GET"}
    assert writes - story.checked == set(), "writes of the document without a checked call"
    assert len(story.checked) == len(writes) >= 55
