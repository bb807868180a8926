"""State machines of the people-ops, payroll and finance operations (expenses, offboarding, onboarding
cancellation, incentives, probation, travel requests, managers, custom fields, leave balances, webhook
event replay, cost estimates), driven by API calls and the sandbox clock."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from tests.sandbox.remote_fixtures import NOW, client, make_app, manager_id, records

pytestmark = pytest.mark.anyio

DAY = 86400


def _employee(app, company: str = "acme") -> dict:
    return records(app, "employments", company, status="active", type="employee")[0]


async def test_expense_review_and_reimbursement():
    app = make_app()
    clock = app.state.sandbox.settings.clock
    pending = records(app, "expenses", status="pending")
    async with client(app) as c:
        path = f"/v1/expenses/{pending[0]['id']}"
        no_reason = await c.patch(path, json={"status": "declined"})
        assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
        bad = await c.patch(path, json={"status": "paid"})
        assert bad.status_code == 422 and "status" in bad.json()["errors"]
        approved = await c.patch(path, json={"status": "approved"})
        assert approved.status_code == 200
        expense = approved.json()["data"]["expense"]
        assert expense["status"] == "approved" and expense["reviewer"]["user_id"] and expense["reviewed_at"]
        again = await c.patch(path, json={"status": "declined", "reason": "Too late"})
        assert again.status_code == 409
        declined = await c.patch(f"/v1/expenses/{pending[1]['id']}", json={"status": "declined",
                                                                          "reason": "Not reimbursable"})
        assert declined.json()["data"]["expense"]["status"] == "declined"
        assert declined.json()["data"]["expense"]["reason"] == "Not reimbursable"
        for draft in records(app, "expenses", status="draft"):
            assert (await c.patch(f"/v1/expenses/{draft['id']}", json={"status": "approved"})).status_code == 409
        clock.advance(15 * DAY)
        assert (await c.get(path)).json()["data"]["expense"]["status"] == "processing"
        clock.advance(16 * DAY)
        settled = (await c.get(path)).json()["data"]["expense"]
        assert settled["status"] == "reimbursed" and settled["invoice_period"]


async def test_create_expense_with_receipt():
    app = make_app()
    employee = _employee(app)
    receipt = base64.b64encode(b"%PDF-1.4 receipt").decode()
    async with client(app) as c:
        body = {"employment_id": employee["id"], "title": "Hotel", "amount": 18000, "currency": "EUR",
                "expense_date": "2026-06-10", "expense_category_slug": "travel-lodging",
                "receipt": {"name": "hotel.pdf", "content": receipt}}
        created = await c.post("/v1/expenses", json=body)
        assert created.status_code == 201, created.text
        expense = created.json()["data"]["expense"]
        assert expense["status"] == "approved" and expense["expense_category"]["slug"] == "travel-lodging"
        assert expense["currency"]["code"] == "EUR"
        download = await c.get(f"/v1/expenses/{expense['id']}/receipts/{expense['receipts'][0]['id']}")
        assert download.status_code == 200 and download.content == b"%PDF-1.4 receipt"
        assert (await c.post("/v1/expenses", json={**body, "expense_date": "2026-07-01"})).status_code == 422
        broken = await c.post("/v1/expenses", json={**body, "receipt": {"name": "x.pdf", "content": "%%%"}})
        assert broken.status_code == 422 and "receipt" in broken.json()["errors"]
        cents = await c.post("/v1/expenses", json={**body, "amount": 12.5})
        assert cents.status_code == 422 and "amount" in cents.json()["errors"]
        contractor = records(app, "employments", status="active", type="contractor")[0]["id"]
        assert (await c.post("/v1/expenses", json={**body, "employment_id": contractor})).status_code == 409


TERMINATION = {"confidential": True, "proposed_termination_date": "2026-07-31", "termination_reason": "performance",
               "reason_description": "Goals missed twice.", "risk_assessment_reasons": ["none_of_these"],
               "will_challenge_termination": False}


async def test_termination_is_reviewed_then_done():
    app = make_app()
    clock = app.state.sandbox.settings.clock
    employee = next(e for e in records(app, "employments", status="active", type="employee")
                    if not records(app, "offboardings", employment_id=e["id"]))
    async with client(app) as c:
        body = {"employment_id": employee["id"], "type": "termination", "termination_details": TERMINATION}
        bad = await c.post("/v1/offboardings", json={**body, "termination_details": {
            **TERMINATION, "will_challenge_termination": True, "termination_reason": "bored"}})
        assert bad.status_code == 422
        assert set(bad.json()["errors"]) == {"termination_details.termination_reason",
                                             "termination_details.will_challenge_termination_description"}
        created = await c.post("/v1/offboardings", json=body)
        assert created.status_code == 201, created.text
        offboarding = created.json()["data"]["offboarding"]
        assert offboarding["status"] == "submitted" and offboarding["termination_date"] is None
        assert (await c.post("/v1/offboardings", json=body)).status_code == 409
        assert (await c.get(f"/v1/employments/{employee['id']}")).json()["data"]["employment"]["status"] == "offboarding"
        listed = (await c.get("/v1/offboardings", params={"employment_id": employee["id"]})).json()
        assert listed["data"]["offboardings"] == []  # confidential: hidden by default
        shown = await c.get("/v1/offboardings", params={"employment_id": employee["id"], "include_confidential": "true"})
        assert [o["id"] for o in shown.json()["data"]["offboardings"]] == [offboarding["id"]]
        v2 = f"/v2/offboardings/{offboarding['id']}"
        assert (await c.get(v2)).json()["data"]["offboarding"]["status"] == "requested"
        clock.advance(2 * DAY)
        assert (await c.get(f"/v1/offboardings/{offboarding['id']}")).json()["data"]["offboarding"]["status"] == "in_review"
        assert (await c.get(v2)).json()["data"]["offboarding"]["status"] == "in_review"
        clock.advance(45 * DAY)
        done = (await c.get(f"/v1/offboardings/{offboarding['id']}")).json()["data"]["offboarding"]
        assert done["status"] == "done" and done["termination_date"] == "2026-07-31"
        assert (await c.get(v2)).json()["data"]["offboarding"]["status"] == "completed"


async def test_resignation_validation():
    app = make_app()
    resignation = next(r for r in records(app, "offboardings", type="resignation") if not r.get("_validated"))
    path = f"/v1/resignations/{resignation['id']}"
    async with client(app) as c:
        details = (await c.get(path)).json()["data"]["resignation"]
        assert details["days_of_notice"] == 30 and "contract_proabtion_period_passed" in details
        wrong = await c.put(f"{path}/validate", json={"proposed_resignation_accepted": True})
        assert wrong.status_code == 422  # the employee started: the after-start answers are needed
        answers = {k: True for k in ("accepts_proposed_notice", "agrees_to_pto_amount", "agrees_to_resignation_reason",
                                     "has_additional_information", "has_more_salary_info",
                                     "is_owed_outstanding_reimbursements", "will_take_more_pto")}
        assert (await c.put(f"{path}/validate", json=answers)).json() == {"data": {"status": "ok"}}
        assert (await c.get(f"/v1/offboardings/{resignation['id']}")).json()["data"]["offboarding"]["status"] == \
            "in_review"
        assert (await c.put(f"{path}/validate", json=answers)).status_code == 409
        letter = await c.get(f"{path}/resignation-letter")
        assert letter.headers["content-type"] == "application/pdf" and letter.content.startswith(b"%PDF")
        termination = records(app, "offboardings", type="termination")[0]["id"]
        assert (await c.get(f"/v1/resignations/{termination}")).status_code == 404


async def test_cancel_onboarding_before_contract_signing_only():
    app = make_app()
    created = records(app, "employments", status="created")[0]
    invited = records(app, "employments", status="invited")[0]
    active = records(app, "employments", status="active")[0]
    async with client(app) as c:
        steps = (await c.get(f"/v1/employments/{invited['id']}/onboarding-steps")).json()["data"]["steps"]
        assert [s["status"] for s in steps][:3] == ["completed", "completed", "in_progress"]
        for employment in (created, invited):
            assert (await c.post(f"/v1/cancel-onboarding/{employment['id']}")).json() == {"data": {"status": "ok"}}
            shown = (await c.get(f"/v1/employments/{employment['id']}")).json()["data"]["employment"]
            assert shown["status"] == "deleted"
            assert (await c.post(f"/v1/cancel-onboarding/{employment['id']}")).status_code == 409
        refused = await c.post(f"/v1/cancel-onboarding/{active['id']}")
        assert refused.status_code == 409 and "contract signing" in refused.json()["message"]
        steps = (await c.get(f"/v1/employments/{active['id']}/onboarding-steps")).json()["data"]["steps"]
        assert {s["status"] for s in steps} == {"completed"}


async def test_incentive_lifecycle():
    app = make_app()
    clock = app.state.sandbox.settings.clock
    employee = _employee(app)
    async with client(app) as c:
        body = {"employment_id": employee["id"], "type": "bonus", "amount": 50000, "amount_tax_type": "gross",
                "effective_date": "2026-08-01"}
        closed = await c.post("/v1/incentives", json={**body, "effective_date": "2026-05-01"})
        assert closed.status_code == 422 and "effective_date" in closed.json()["errors"]
        created = await c.post("/v1/incentives", json=body)
        assert created.status_code == 201
        incentive = created.json()["data"]["incentive"]
        assert incentive["status"] == "pending" and incentive["expected_payout_date"] == "2026-08-31"
        path = f"/v1/incentives/{incentive['id']}"
        assert (await c.patch(path, json={"amount": 70000})).json()["data"]["incentive"]["amount"] == 70000
        clock.advance(50 * DAY)  # 2026-08-04: August payroll is running
        assert (await c.get(path)).json()["data"]["incentive"]["status"] == "processing"
        assert (await c.patch(path, json={"amount": 1})).status_code == 409
        assert (await c.delete(path)).status_code == 409
        clock.advance(30 * DAY)
        assert (await c.get(path)).json()["data"]["incentive"]["status"] == "paid"


async def test_recurring_incentive_schedules_and_stops():
    app = make_app()
    clock = app.state.sandbox.settings.clock
    employee = _employee(app)
    async with client(app) as c:
        created = await c.post("/v1/incentives/recurring", json={
            "employment_id": employee["id"], "type": "internet_allowance", "amount": 3000, "amount_tax_type": "net",
            "effective_date": "2026-06-01", "duration_in_months": "4"})
        assert created.status_code == 201, created.text
        recurring = created.json()["data"]["recurring_incentive"]
        assert recurring["status"] == "active" and recurring["end_date"] == "2026-09-30"
        payments = (await c.get("/v1/incentives", params={"recurring_incentive_id": recurring["id"]})).json()
        assert payments["data"]["total_count"] == 4
        clock.advance(20 * DAY)  # July payroll runs; June paid
        stopped = await c.delete(f"/v1/incentives/recurring/{recurring['id']}")
        scheduled = stopped.json()["data"]["already_scheduled_incentives"]
        assert sorted(p["status"] for p in scheduled) == ["paid", "processing"]
        left = (await c.get("/v1/incentives", params={"recurring_incentive_id": recurring["id"]})).json()
        assert left["data"]["total_count"] == 2
        listed = (await c.get("/v1/incentives/recurring", params={"status": "inactive"})).json()
        assert recurring["id"] in {r["id"] for r in listed["data"]["recurring_incentives"]}


async def test_probation_requests_are_reviewed():
    app = make_app()
    clock = app.state.sandbox.settings.clock
    employee = records(app, "employments", status="active", type="employee")[-2]
    async with client(app) as c:
        bad = await c.post("/v1/probation-extensions", json={"employment_id": employee["id"],
                                                              "duration_of_extension_in_days": 0,
                                                              "reason_for_extension": "x"})
        assert set(bad.json()["errors"]) == {"duration_of_extension_in_days", "was_employee_informed"}
        created = await c.post("/v1/probation-extensions", json={
            "employment_id": employee["id"], "duration_of_extension_in_days": 30,
            "reason_for_extension": "More time to assess", "was_employee_informed": True})
        extension = created.json()["data"]["probation_extension"]
        assert extension["status"] == "submitted"
        again = await c.post("/v1/probation-extensions", json={
            "employment_id": employee["id"], "duration_of_extension_in_days": 10, "reason_for_extension": "x",
            "was_employee_informed": True})
        assert again.status_code == 409
        letter = (await c.post("/v1/probation-completion-letter", json={"employment_id": employee["id"]})).json()
        letter_id = letter["data"]["probation_completion_letter"]["id"]
        assert letter["data"]["probation_completion_letter"]["letter"] is None
        clock.advance(DAY)
        shown = (await c.get(f"/v1/probation-extensions/{extension['id']}")).json()["data"]["probation_extension"]
        assert shown["status"] == "in_review"
        clock.advance(2 * DAY)
        done = (await c.get(f"/v1/probation-completion-letter/{letter_id}")).json()["data"]
        assert done["probation_completion_letter"]["status"] == "done"
        file_id = done["probation_completion_letter"]["letter"]["id"]
        downloaded = (await c.get(f"/v1/files/{file_id}")).json()["data"]["file"]
        assert base64.b64decode(downloaded["content"]).startswith(b"%PDF")


async def test_work_authorization_and_travel_letter_decisions():
    app = make_app()
    clock = app.state.sandbox.settings.clock
    work = records(app, "work_authorizations", status="pending")[0]["id"]
    letter = records(app, "travel_letters", status="pending")[0]["id"]
    async with client(app) as c:
        no_reason = await c.patch(f"/v1/work-authorization-requests/{work}", json={"status": "declined_by_manager"})
        assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
        approved = await c.patch(f"/v1/work-authorization-requests/{work}", json={"status": "approved_by_manager"})
        request = approved.json()["data"]["work_authorization_request"]
        assert request["status"] == "approved_by_manager" and request["employer_approver"]["email"]
        assert (await c.patch(f"/v1/work-authorization-requests/{work}",
                              json={"status": "declined_by_manager", "reason": "x"})).status_code == 409
        clock.advance(2 * DAY)
        shown = (await c.get(f"/v1/work-authorization-requests/{work}")).json()["data"]
        assert shown["work_authorization_request"]["status"] == "approved_by_remote"
        missing = await c.patch(f"/v1/travel-letter-requests/{letter}", json={"status": "approved_by_manager"})
        assert missing.status_code == 422 and len(missing.json()["errors"]) == 3
        declined = await c.patch(f"/v1/travel-letter-requests/{letter}",
                                 json={"status": "declined_by_manager", "reason": "Trip cancelled"})
        assert declined.json()["data"]["travel_letter_request"]["status"] == "declined_by_manager"
        cancelled = records(app, "work_authorizations", status="cancelled")[0]["id"]
        assert (await c.patch(f"/v1/work-authorization-requests/{cancelled}",
                              json={"status": "approved_by_manager"})).status_code == 409


async def test_company_managers_list_and_delete():
    app = make_app()
    acme = app.state.sandbox.company_by_slug("acme")
    async with client(app) as c:
        managers = (await c.get("/v1/company-managers")).json()["data"]["company_managers"]
        assert len(managers) == 5 and {m["company_id"] for m in managers} == {acme["id"]}
        owner = await c.delete(f"/v1/company-managers/{acme['company_owner_user_id']}")
        assert owner.status_code == 409
        other = next(m for m in managers if m["user_id"] != acme["company_owner_user_id"])
        managed = [e["id"] for e in records(app, "employments", manager_id=other["user_id"])]
        assert managed
        assert (await c.delete(f"/v1/company-managers/{other['user_id']}")).json() == {"data": {"status": "ok"}}
        assert (await c.get(f"/v1/company-managers/{other['user_id']}")).status_code == 404
        shown = (await c.get(f"/v1/employments/{managed[0]}")).json()["data"]["employment"]
        assert shown["manager"] is None
        approve = await c.post(f"/v1/timeoff/{records(app, 'timeoffs', status='requested')[0]['id']}/approve",
                               json={"approver_id": other["user_id"]})
        assert approve.status_code == 422  # a deleted manager can no longer approve


async def test_custom_field_values_follow_the_field_type():
    app = make_app()
    employee = _employee(app)
    fields = {f["name"]: f for f in records(app, "custom_fields")}
    async with client(app) as c:
        size = f"/v1/custom-fields/{fields['T-shirt size']['id']}/values/{employee['id']}"
        wrong = await c.patch(size, json={"value": "XXL"})
        assert wrong.status_code == 422 and "S, M, L, XL" in wrong.json()["errors"]["value"][0]
        set_ = await c.patch(size, json={"value": "XL"})
        assert set_.json()["data"]["custom_field_value"]["value"] == {"selected_option": "XL",
                                                                      "selected_option_label": "XL"}
        flag = f"/v1/custom-fields/{fields['Start date confirmed']['id']}/values/{employee['id']}"
        assert (await c.patch(flag, json={"value": "yes"})).status_code == 422
        assert (await c.patch(flag, json={"value": True})).json()["data"]["custom_field_value"]["value"] is True
        values = (await c.get(f"/v1/employments/{employee['id']}/custom-fields")).json()["data"]
        by_field = {v["custom_field_id"]: v["value"] for v in values["custom_field_values"]}
        assert by_field[fields["Start date confirmed"]["id"]] is True
        duplicate = await c.post("/v1/custom-fields", json={"name": "cost center", "type": "string", "required": False,
                                                            "data_entry_access": "everyone",
                                                            "visibility_scope": "everyone"})
        assert duplicate.status_code == 409


async def test_leave_balance_counts_recorded_time_off_and_policy_variants():
    app = make_app()
    employee = next(e for e in records(app, "employments", status="active", type="employee") if e["contract_details"])
    async with client(app) as c:
        policies = (await c.get(f"/v1/leave-policies/details/{employee['id']}")).json()["data"]
        volunteering = next(p for p in policies if p["name"] == "Volunteering day")
        before = (await c.get(f"/v1/timeoff-balances/{employee['id']}")).json()["data"]["timeoff_balance"]
        day = (NOW + timedelta(days=150)).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        body = {"employment_id": employee["id"], "start_date": day.isoformat(), "end_date": day.isoformat(),
                "timezone": "Europe/Lisbon", "timeoff_days": [{"day": day.isoformat(), "hours": 8}],
                "status": "approved", "approver_id": manager_id(app), "approved_at": "2026-06-15T09:00:00Z",
                "timeoff_type": "paid_time_off"}
        assert (await c.post("/v1/timeoff", json=body)).status_code == 201
        after = (await c.get(f"/v1/timeoff-balances/{employee['id']}")).json()["data"]["timeoff_balance"]
        remaining = lambda b: b["timeoff_entitlements"][0]["remaining"]["days"]  # noqa: E731
        assert remaining(before) - remaining(after) == 1
        assert after["upcoming_approved"]["days"] == before["upcoming_approved"]["days"] + 1
        other_day = (day + timedelta(days=7)).isoformat()
        by_variant = {k: v for k, v in body.items() if k != "timeoff_type"}
        custom = await c.post("/v1/timeoff", json={**by_variant, "start_date": other_day, "end_date": other_day,
                                                   "timeoff_days": [{"day": other_day, "hours": 8}],
                                                   "leave_policy_variant_id": volunteering["leave_policy_variant_id"]})
        assert custom.status_code == 201, custom.text
        assert custom.json()["data"]["timeoff"]["timeoff_type"] == "custom_company_leave"
        unknown = await c.post("/v1/timeoff", json={**body, "leave_policy_variant_id": "nope"})
        assert unknown.status_code == 422 and "leave_policy_variant_id" in unknown.json()["errors"]
        summary = (await c.get(f"/v1/leave-policies/summary/{employee['id']}")).json()["data"]
        custom_summary = next(s for s in summary if s["leave_policy"]["leave_type"] == "custom_company_leave")
        assert custom_summary["upcoming_approved"]["days"] == 1 and custom_summary["balance"]["days"] == 1


async def test_webhook_event_log_and_replay():
    received = []

    async def receiver(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append(body)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = make_app(webhook_transport=httpx.ASGITransport(receiver), webhook_time_scale=0.0001)
    expense = records(app, "expenses", status="pending")[0]
    async with client(app) as c:
        await c.post("/v1/webhook-callbacks", json={"url": "http://receiver.test/hooks",
                                                    "subscribed_events": ["expense.approved"]})
        await c.patch(f"/v1/expenses/{expense['id']}", json={"status": "approved"})
        assert await app.state.sandbox.deliverer.drain(5)
        events = (await c.get("/v1/webhook-events", params={"event_type": "expense.approved"})).json()["data"]
        event = events["webhook_events"][0]
        assert event["successfully_delivered"] is True and len(received) == 1
        replayed = await c.post("/v1/webhook-events/replay", json={"event_ids": [event["id"]]})
        assert replayed.json() == {"data": {"status": "ok"}}
        assert await app.state.sandbox.deliverer.drain(5)
        assert len(received) == 2 and received[0] == received[1]
        unknown = await c.post("/v1/webhook-events/replay", json={"event_ids": ["00000000-0000-4000-8000-000000000000"]})
        assert unknown.status_code == 422
        failed = (await c.get("/v1/webhook-events", params={"successfully_delivered": "false"})).json()["data"]
        assert failed["webhook_events"] and all(not e["successfully_delivered"] for e in failed["webhook_events"])


async def test_cost_estimate_is_deterministic_and_checks_regions():
    app = make_app()
    async with client(app) as c:
        body = {"employer_currency_slug": "usd", "employments": [{"region_slug": "germany",
                                                                   "annual_gross_salary": 6000000}]}
        first = (await c.post("/v1/cost-calculator/estimation", json=body)).json()
        again = (await c.post("/v1/cost-calculator/estimation", json=body)).json()
        assert first == again
        costs = first["data"]["employments"][0]["regional_currency_costs"]
        assert costs["annual_gross_salary"] == 6000000
        assert costs["annual_total"] == 6000000 + costs["annual_contributions_total"] + costs["annual_management_fee"]
        assert first["data"]["employments"][0]["employer_currency_costs"]["annual_gross_salary"] > 6000000  # EUR->USD
        bad = await c.post("/v1/cost-calculator/estimation", json={**body, "employments": [{"region_slug": "mars"}]})
        assert bad.status_code == 422 and "employments.0.region_slug" in bad.json()["errors"]
