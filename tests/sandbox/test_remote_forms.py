"""Country JSON-Schema forms: served shapes and 422 per field on create/PATCH/amendments."""

from __future__ import annotations

import pytest

from tests.sandbox.remote_fixtures import client, make_app, records
from tests.sandbox.test_remote_employments import PRT_BASIC

pytestmark = pytest.mark.anyio
FORMS = ("employment_basic_information", "contract_details", "personal_details", "address_details",
         "pricing_plan_details", "contract_amendment", "company_basic_information")


async def test_real_style_forms_for_each_country():
    app = make_app()
    employment = records(app, "employments", status="active", type="employee")[0]["id"]
    async with client(app) as c:
        for country in ("PRT", "DEU", "FRA", "USA", "GBR", "ESP"):
            for form in FORMS:
                params = {"employment_id": employment} if form == "contract_amendment" else {}
                response = await c.get(f"/v1/countries/{country}/{form}", params=params)
                assert response.status_code == 200, (country, form)
                schema = response.json()["data"]
                assert schema["type"] == "object" and schema["additionalProperties"] is False
                assert schema["x-jsf-order"] and all("x-jsf-presentation" in p for p in schema["properties"].values())
        basic = (await c.get("/v1/countries/PRT/employment_basic_information")).json()["data"]
        assert basic["allOf"][0]["else"] == {"properties": {"seniority_date": False}}
        assert {"const": "yes", "title": "Yes"} in basic["properties"]["has_seniority_date"]["oneOf"]
        assert "x-jsf-logic" in basic
        amendment = (await c.get("/v1/countries/PRT/contract_amendment", params={"employment_id": employment}))
        salary_rule = amendment.json()["data"]["allOf"][0]["then"]["properties"]["annual_gross_salary"]
        assert salary_rule["minimum"] == 1218000 and "€12,180.00" in salary_rule["x-jsf-errorMessage"]["minimum"]
        assert (await c.get("/v1/countries/PRT/contract_amendment")).status_code == 422
        assert (await c.get("/v1/countries/XXX/contract_details")).status_code == 404
        assert (await c.get("/v1/countries/PRT/no_such_form")).status_code == 404


async def test_create_employment_422_per_field():
    app = make_app()
    async with client(app) as c:
        body = {k: v for k, v in PRT_BASIC.items() if k not in ("job_title",)}
        body.update(has_seniority_date="no", seniority_date="2020-01-01", email="not-an-email", extra=1)
        response = await c.post("/v1/employments", json={"country_code": "PRT", "basic_information": body})
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["basic_information.job_title"] == ["Should have required property job_title"]
        assert errors["basic_information.seniority_date"] == ["boolean schema is false"]
        assert "basic_information.email" in errors and "basic_information.extra" in errors
        conditional = {**PRT_BASIC, "has_seniority_date": "yes"}
        response = await c.post("/v1/employments", json={"country_code": "PRT", "basic_information": conditional})
        assert response.json()["errors"] == {
            "basic_information.seniority_date": ["Should have required property seniority_date"]}
        usa = await c.post("/v1/employments", json={"country_code": "USA", "basic_information": PRT_BASIC})
        assert usa.json()["errors"]["basic_information.work_state"] == ["Should have required property work_state"]
        assert (await c.post("/v1/employments", json={"country_code": "ZZZ", "basic_information": {}})).status_code \
            == 422


async def test_patch_validates_each_form_block():
    app = make_app()
    created = [e for e in records(app, "employments", status="created", type="employee")
               if e["country"]["code"] == "PRT"] or records(app, "employments", status="created", type="employee")
    employment = created[0]
    country = employment["country"]["code"]
    async with client(app) as c:
        response = await c.patch(f"/v1/employments/{employment['id']}", json={
            "contract_details": {"annual_gross_salary": 100, "work_schedule": "full_time",
                                 "contract_duration_type": "fixed_term", "role_description": "short"},
            "pricing_plan_details": {"frequency": "weekly"},
        })
        assert response.status_code == 422, (country, response.text)
        errors = response.json()["errors"]
        assert "contract_details.contract_end_date" in errors
        assert "contract_details.role_description" in errors
        assert "contract_details.annual_gross_salary" in errors
        assert errors["pricing_plan_details.frequency"] == ["Should be equal to one of the allowed values"]


async def test_contract_amendment_minimum_salary_message():
    app = make_app()
    employment = next(e for e in records(app, "employments", status="active", type="employee")
                      if e["country"]["code"] == "PRT" and e["active_contract_id"])
    async with client(app) as c:
        body = {"employment_id": employment["id"], "amendment_contract_id": employment["active_contract_id"],
                "contract_amendment": {"annual_gross_salary": 1000000, "work_schedule": "full_time",
                                       "effective_date": "2026-07-01", "reason_for_change": "other"}}
        response = await c.post("/v1/contract-amendments", json=body)
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["contract_amendment.annual_gross_salary"] == [
            "In Portugal, full-time employees are entitled to a minimum annual salary of €12,180.00."]
        assert "contract_amendment.reason_for_change_description" in errors
        body["contract_amendment"].update(annual_gross_salary=4000000, reason_for_change="promotion")
        created = await c.post("/v1/contract-amendments", json=body)
        assert created.status_code == 200, created.text
        amendment = created.json()["data"]["contract_amendment"]
        assert amendment["status"] == "submitted"
        assert amendment["changes"]["contract_details.annual_gross_salary"]["current"] == 4000000
        shown = await c.get(f"/v1/contract-amendments/{amendment['id']}")
        assert shown.json()["data"]["contract_amendment"]["id"] == amendment["id"]
        pending = await c.get(f"/v1/employment-contracts/{employment['id']}/pending-changes")
        assert any(p["changes"] == amendment["changes"] for p in pending.json()["data"]["pending_changes"])
