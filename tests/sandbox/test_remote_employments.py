"""Employments: create against the country form, PATCH v1/v2 rules, invite and ready."""

from __future__ import annotations

import pytest

from tests.sandbox.remote_fixtures import client, make_app, manager_id, records

pytestmark = pytest.mark.anyio

PRT_BASIC = {
    "name": "Rita Sousa", "email": "rita.sousa@mail.example", "job_title": "Data Engineer",
    "provisional_start_date": "2026-08-03", "has_seniority_date": "no",
    "tax_servicing_countries": ["Portugal"], "tax_job_category": "engineering_it",
}
PRT_CONTRACT = {
    "annual_gross_salary": 3000000, "work_schedule": "full_time", "work_hours_per_week": 40,
    "contract_duration_type": "indefinite", "role_description": "Builds data pipelines and owns the warehouse.",
}


async def test_hire_flow_create_patch_invite_ready():
    app = make_app()
    async with client(app) as c:
        created = await c.post("/v1/employments", json={"country_code": "PRT", "basic_information": PRT_BASIC})
        assert created.status_code == 200, created.text  # Remote's spec declares 200
        employment = created.json()["data"]["employment"]
        assert employment["status"] == "created" and employment["employment_lifecycle_stage"] == "employment_creation"
        path = f"/v1/employments/{employment['id']}"

        early = await c.post(f"{path}/invite")
        assert early.status_code == 409 and "contract_details" in early.json()["message"]
        assert (await c.post("/v1/ready", json={"employment_id": employment["id"]})).status_code == 409

        patched = await c.patch(path, json={"contract_details": PRT_CONTRACT,
                                            "pricing_plan_details": {"frequency": "monthly"}})
        assert patched.status_code == 200, patched.text
        assert patched.json()["data"]["employment"]["contract_details"]["annual_gross_salary"] == 3000000

        invited = await c.post(f"{path}/invite")
        assert invited.json() == {"data": {"status": "ok"}}
        assert (await c.get(path)).json()["data"]["employment"]["status"] == "invited"
        assert (await c.post(f"{path}/invite")).status_code == 409

        refused = await c.patch(path, json={"contract_details": PRT_CONTRACT})
        assert refused.status_code == 422 and "contract_details" in refused.json()["errors"]
        assert (await c.patch(path, json={"work_email": "rita@acme.example"})).status_code == 200

        ready = await c.post("/v1/ready", json={"employment_id": employment["id"]})
        assert ready.status_code == 200
        assert ready.json()["data"]["employment"]["status"] == "review"
        assert (await c.post("/v1/ready", json={"employment_id": employment["id"]})).status_code == 409


async def test_patch_allowed_fields_depend_on_status():
    app = make_app()
    active = records(app, "employments", status="active", type="employee")[0]["id"]
    async with client(app) as c:
        path = f"/v1/employments/{active}"
        refused = await c.patch(path, json={"pricing_plan_details": {"frequency": "monthly"}})
        assert refused.status_code == 422 and "pricing_plan_details" in refused.json()["errors"]
        moved = await c.patch(path, json={"manager_id": manager_id(app), "emergency_contact_details": {
            "name": "Ana", "relationship": "partner", "phone_number": "+351912345678"}})
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["employment"]["manager"]["id"] == manager_id(app)
        v2 = await c.patch(f"/v2/employments/{active}", json={"external_id": "HR-1", "department_id": None})
        assert v2.status_code == 200 and v2.json()["data"]["employment"]["external_id"] == "HR-1"
        v2_form = await c.patch(f"/v2/employments/{active}", json={"contract_details": {}})
        assert v2_form.status_code == 422
        foreign = await c.patch(f"/v2/employments/{active}", json={"manager_id": manager_id(app, "globex")})
        assert foreign.status_code == 422


async def test_invite_refused_without_forms_for_seeded_created_employment():
    app = make_app()
    incomplete = [e for e in records(app, "employments", status="created", type="employee")
                  if not e["contract_details"]]
    complete = [e for e in records(app, "employments", status="created", type="employee") if e["contract_details"]]
    async with client(app) as c:
        assert (await c.post(f"/v1/employments/{incomplete[0]['id']}/invite")).status_code == 409
        assert (await c.post(f"/v1/employments/{complete[0]['id']}/invite")).status_code == 200


async def test_list_filters():
    app = make_app()
    async with client(app) as c:
        multi = (await c.get("/v1/employments", params={"status": "invited,review", "page_size": 100})).json()
        statuses = {e["status"] for e in multi["data"]["employments"]}
        assert statuses == {"invited", "review"}
        contractors = (await c.get("/v1/employments", params={"employment_type": "contractor"})).json()["data"]
        assert contractors["total_count"] > 0
        assert {e["type"] for e in contractors["employments"]} == {"contractor"}
        one = contractors["employments"][0]
        by_email = (await c.get("/v1/employments", params={"email": one["personal_email"]})).json()["data"]
        assert [e["id"] for e in by_email["employments"]] == [one["id"]]
        by_short = (await c.get("/v1/employments", params={"short_id": one["short_id"]})).json()["data"]
        assert by_short["total_count"] == 1
        assert (await c.get("/v1/employments", params={"status": "nope"})).status_code == 422
