"""Every Remote read, called with real seeded ids, answers a body that its OpenAPI document describes.

Schemathesis fuzzes ids that do not exist, so most of its calls end in 404s; this walks the happy path
of each GET so that drift between the emulator and the document (a field's type, a missing envelope
key) fails here.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ops_mcp.catalogue import load_catalogue
from ops_mcp.sandbox.remote import SANDBOX_CREDENTIALS, RemoteSandboxSettings, create_remote_app

pytestmark = pytest.mark.anyio

DOC_PATH = Path(__file__).parents[2] / "tool_manifests" / "openapi" / "remote.json"


def _doc() -> dict:
    return json.loads(DOC_PATH.read_text())


def _response_validator(doc: dict, path: str, status: int) -> Draft202012Validator:
    schema = doc["paths"][path]["get"]["responses"][str(status)]
    if "$ref" in schema:
        schema = doc["components"]["responses"][schema["$ref"].rsplit("/", 1)[1]]
    body = schema["content"]["application/json"]["schema"]
    # OpenAPI refs point into the document: register it, and point the body's refs at it.
    registry = Registry().with_resource("urn:remote", DRAFT202012.create_resource(doc))
    rooted = json.loads(json.dumps(body).replace('"#/components', '"urn:remote#/components'))
    return Draft202012Validator(rooted, registry=registry)


async def _sample_ids(client: httpx.AsyncClient) -> dict[str, str]:
    async def first(path: str, key: str, **params) -> dict:
        response = await client.get(path, params={"page_size": 5, **params})
        assert response.status_code == 200, (path, response.text)
        return response.json()["data"][key][0]

    employment = await first("/v1/employments", "employments", status="active")
    billing = await first("/v1/billing-documents", "billing_documents")
    return {
        "employment_id": employment["id"],
        "country_code": employment["country"]["code"],
        "timeoff": (await first("/v1/timeoff", "timeoffs"))["id"],
        "timesheet": (await first("/v1/timesheets", "timesheets"))["id"],
        "amendment": (await first("/v1/contract-amendments", "contract_amendments"))["id"],
        "invoice": (await first("/v1/contractor-invoices", "contractor_invoices"))["id"],
        "billing_document_id": billing["id"],
    }


def _requests(ids: dict[str, str]) -> list[tuple[str, str, dict]]:
    """(OpenAPI path, concrete path, query) for every GET of the catalogue."""
    year = date.today().year
    concrete = {
        "/v1/employments/{employment_id}": f"/v1/employments/{ids['employment_id']}",
        "/v1/employment-contracts/{employment_id}/pending-changes":
            f"/v1/employment-contracts/{ids['employment_id']}/pending-changes",
        "/v1/contract-amendments/{id}": f"/v1/contract-amendments/{ids['amendment']}",
        "/v1/timeoff/{id}": f"/v1/timeoff/{ids['timeoff']}",
        "/v1/timesheets/{id}": f"/v1/timesheets/{ids['timesheet']}",
        "/v1/payroll-calendars/{cycle}": f"/v1/payroll-calendars/{year}-01",
        "/v1/countries/{country_code}/{form}": "/v1/countries/PRT/employment_basic_information",
        "/v1/countries/{country_code}/holidays/{year}": f"/v1/countries/PRT/holidays/{year}",
        "/v1/contractor-invoices/{id}": f"/v1/contractor-invoices/{ids['invoice']}",
        "/v1/billing-documents/{billing_document_id}": f"/v1/billing-documents/{ids['billing_document_id']}",
        "/v1/billing-documents/{billing_document_id}/breakdown":
            f"/v1/billing-documents/{ids['billing_document_id']}/breakdown",
    }
    queries = {
        "/v1/employment-contracts": {"employment_id": ids["employment_id"]},
        "/v1/contract-amendments/schema": {"employment_id": ids["employment_id"],
                                           "country_code": ids["country_code"], "form": "contract_amendment"},
    }
    out = []
    for endpoint in load_catalogue()["remote"].endpoints:
        if endpoint.method == "GET":
            out.append((endpoint.path, concrete.get(endpoint.path, endpoint.path), queries.get(endpoint.path, {})))
    return out


async def test_every_read_answers_a_documented_body():
    app = create_remote_app(RemoteSandboxSettings(rate_limit=100_000))
    doc = _doc()
    headers = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['acme']}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://remote", headers=headers) as client:
        ids = await _sample_ids(client)
        checked = []
        for doc_path, path, query in _requests(ids):
            response = await client.get(path, params=query)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            validator = _response_validator(doc, doc_path, 200)
            problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}"
                        for e in validator.iter_errors(response.json())][:5]
            assert not problems, (doc_path, problems)
            checked.append(doc_path)
    assert len(checked) == len(_requests(ids)) >= 24
