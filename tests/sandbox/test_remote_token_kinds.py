"""Token kinds: the emulator refuses a partner client-credentials token on every company-scoped
operation and a company token on every client-credentials-only one, with Remote's 403 body, before
anything happens; and it declares for each operation the token kind and scope the document gives.
"""

from __future__ import annotations

import pytest

from ops_mcp.sandbox.remote.app import ROUTERS
from tests.sandbox.remote_fixtures import (
    bearer,
    client,
    client_credentials_token,
    company_token,
    make_app,
)
from tests.sandbox.remote_openapi import bearer_operations, concrete
from tests.sandbox.test_remote_read_bodies_match_openapi import ID_BY_PATH, sample_ids

pytestmark = pytest.mark.anyio

FORBIDDEN = {"message": "Forbidden"}
OPERATIONS = bearer_operations()
COMPANY_OPS = [(m, p) for m, p, op in OPERATIONS if op["x-token-kind"] == "company"]
PARTNER_OPS = [(m, p) for m, p, op in OPERATIONS if op["x-token-kind"] == "client_credentials"]
# The form operation is company-scoped, but Remote serves these two forms to client credentials too.
FORM_PATH = "/v1/countries/{country_code}/{form}"


def _url(app, path: str) -> str:
    ids = sample_ids(app)
    values = {**ids, "id": ids[ID_BY_PATH[path]] if path in ID_BY_PATH else ids["timeoff"],
              "timeoff_id": ids["timeoff"], "timesheet_id": ids["timesheet"]}
    return concrete(path, values)


def _snapshot(app) -> str:
    import json

    return json.dumps(app.state.sandbox.data, sort_keys=True, default=str)


def test_the_document_has_both_kinds():
    assert len(COMPANY_OPS) >= 100 and len(PARTNER_OPS) == 2


@pytest.mark.parametrize(("method", "path"), COMPANY_OPS, ids=[f"{m} {p}" for m, p in COMPANY_OPS])
async def test_client_credentials_token_is_refused_on_company_operations(method, path):
    app = make_app()
    before = _snapshot(app)
    async with client(app, token=None) as c:
        token = await client_credentials_token(c)
        response = await c.request(method, _url(app, path), headers=bearer(token),
                                   json={} if method in ("POST", "PUT", "PATCH") else None)
    assert response.status_code == 403, response.text
    assert response.json() == FORBIDDEN
    assert "x-ratelimit-remaining" in response.headers
    # Refused before the handler ran: nothing changed, no event was emitted.
    assert _snapshot(app) == before and app.state.sandbox.counters["webhook_events"] == 0


@pytest.mark.parametrize(("method", "path"), PARTNER_OPS, ids=[f"{m} {p}" for m, p in PARTNER_OPS])
@pytest.mark.parametrize("who", ["customer_token", "authorization_code_token"])
async def test_company_token_is_refused_on_client_credentials_operations(method, path, who):
    app = make_app()
    async with client(app, token=None) as c:
        token = "acme" if who == "customer_token" else (await company_token(app, c, "acme"))["access_token"]
        before = _snapshot(app)
        response = await c.request(method, path, headers=bearer(token),
                                   json={"name": "X"} if method == "POST" else None)
    assert response.status_code == 403 and response.json() == FORBIDDEN
    assert _snapshot(app) == before


async def test_form_operation_serves_only_the_company_creation_forms_to_client_credentials():
    app = make_app()
    async with client(app, token=None) as c:
        token = await client_credentials_token(c)
        for form in ("address_details", "company_basic_information"):
            assert (await c.get(f"/v1/countries/PRT/{form}", headers=bearer(token))).status_code == 200
        refused = await c.get("/v1/countries/PRT/employment_basic_information", headers=bearer(token))
        assert refused.status_code == 403 and refused.json() == FORBIDDEN


async def test_any_kind_operations_serve_both():
    app = make_app()
    async with client(app, token=None) as c:
        partner = await client_credentials_token(c)
        for token in ("acme", partner):
            for path in ("/v1/countries", "/v1/company-currencies", "/v1/cost-calculator/countries",
                         "/v1/identity/current", "/v1/payroll-calendars"):
                assert (await c.get(path, headers=bearer(token))).status_code == 200, (path, token)


def test_emulator_declares_the_documented_token_kind_and_scope():
    declared = {(op.method, op.path): op for router in ROUTERS for op in router.operations}
    for method, path, doc_op in OPERATIONS:
        op = declared.get((method, path))
        assert op is not None, f"{method} {path} is documented but not emulated"
        expected_kind = "any" if path == FORM_PATH else doc_op["x-token-kind"]
        assert op.token == expected_kind, (method, path)
        assert op.scope == doc_op.get("x-remote-scope"), (method, path, op.scope)
    documented = {(m, p) for m, p, _ in OPERATIONS}
    assert set(declared) == documented, set(declared) ^ documented
