"""Auth: customer tokens, wrong environment, OAuth grants and encodings, expiry, scopes, tenancy.

The authorization-code flow itself is in test_remote_oauth_flow.py; token kinds per operation in
test_remote_token_kinds.py.
"""

from __future__ import annotations

import base64

import pytest

from tests.sandbox.remote_fixtures import (
    LIMITED,
    PARTNER,
    bearer,
    client,
    company_token,
    make_app,
    manager_id,
    records,
    token_request,
)

pytestmark = pytest.mark.anyio


async def test_test_token_works_and_live_token_is_unauthorized():
    app = make_app()
    async with client(app) as c:
        assert (await c.get("/v1/employments")).status_code == 200
        live = await c.get("/v1/employments", headers=bearer("live_example"))
        assert live.status_code == 401 and live.json() == {"message": "Unauthorized"}
        assert "x-ratelimit-count" not in live.headers
        assert (await c.get("/v1/employments", headers={"Authorization": ""})).status_code == 401
        assert (await c.get("/v1/employments", headers=bearer("ra_test_unknown"))).status_code == 401


async def _token(c, body=None, json_body=None, basic=None):
    headers = {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    if json_body is not None:
        return await c.post("/auth/oauth2/token", json=json_body, headers=headers)
    return await c.post("/auth/oauth2/token", data=body, headers=headers)


async def test_client_credentials_form_json_and_basic():
    app = make_app()
    async with client(app, token=None) as c:
        form = await _token(c, {"grant_type": "client_credentials", "client_id": PARTNER[0],
                                "client_secret": PARTNER[1]})
        as_json = await _token(c, json_body={"grant_type": "client_credentials", "client_id": PARTNER[0],
                                             "client_secret": PARTNER[1]})
        basic = await _token(c, {"grant_type": "client_credentials"}, basic=PARTNER)
        for response in (form, as_json, basic):
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
            assert "refresh_token" not in body  # client credentials: no refresh token
        token = form.json()["access_token"]
        companies = await c.get("/v1/companies", headers=bearer(token))
        # Remote answers this list without the `data` wrapper.
        assert {co["name"] for co in companies.json()["companies"]} == {"Acme GmbH", "Globex Ltd"}


async def test_client_credentials_grant_takes_no_company():
    """The invented `company_id` parameter is gone: the grant takes client_id and grant_type only."""
    app = make_app()
    acme_id = app.state.sandbox.company_by_slug("acme")["id"]
    async with client(app, token=None) as c:
        refused = await token_request(c, {"grant_type": "client_credentials", "company_id": acme_id})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
        assert "company_id" in refused.json()["error_description"]
        assert not app.state.sandbox.access_tokens


async def test_oauth_errors():
    app = make_app()
    async with client(app, token=None) as c:
        bad_secret = await _token(c, {"grant_type": "client_credentials", "client_id": PARTNER[0],
                                      "client_secret": "nope"})
        assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
        grant = await _token(c, {"grant_type": "password"}, basic=PARTNER)
        assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
        missing = await _token(c, {}, basic=PARTNER)
        assert missing.json()["error"] == "invalid_request"
        scope = await _token(c, {"grant_type": "client_credentials", "scope": "timeoff:write"}, basic=LIMITED)
        assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
        refresh = await _token(c, {"grant_type": "refresh_token", "refresh_token": "ra_test_refresh_x"},
                               basic=PARTNER)
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


async def test_company_scoped_token_refresh_and_expiry():
    app = make_app(token_ttl_seconds=60)
    acme_id = app.state.sandbox.company_by_slug("acme")["id"]
    globex_employment = records(app, "employments", "globex")[0]["id"]
    async with client(app, token=None) as c:
        body = await company_token(app, c, "acme")
        assert body["expires_in"] == 60 and body["company_id"] == acme_id and body["user_id"]
        access, refresh = body["access_token"], body["refresh_token"]
        listed = await c.get("/v1/employments", headers=bearer(access))
        assert listed.status_code == 200
        other = await c.get(f"/v1/employments/{globex_employment}", headers=bearer(access))
        assert other.status_code == 404
        app.state.sandbox.settings.clock.advance(61)
        expired = await c.get("/v1/employments", headers=bearer(access))
        assert expired.status_code == 401 and expired.json() == {"message": "Unauthorized"}
        renewed = await c.post("/auth/oauth2/token", json={"grant_type": "refresh_token", "refresh_token": refresh,
                                                           "client_id": PARTNER[0], "client_secret": PARTNER[1]})
        assert renewed.status_code == 200 and renewed.json()["refresh_token"] != refresh  # rotated by default
        assert (await c.get("/v1/employments", headers=bearer(renewed.json()["access_token"]))).status_code == 200


async def test_missing_scope_is_forbidden():
    app = make_app()
    timeoff = records(app, "timeoffs", status="requested")[0]["id"]
    async with client(app, token=None) as c:
        token = (await company_token(app, c, "acme", LIMITED))["access_token"]
        assert (await c.get("/v1/timeoff", headers=bearer(token))).status_code == 200
        denied = await c.post(f"/v1/timeoff/{timeoff}/approve", json={"approver_id": manager_id(app)},
                              headers=bearer(token))
        assert denied.status_code == 403 and denied.json() == {"message": "Forbidden"}
        assert "x-ratelimit-remaining" in denied.headers
        assert app.state.sandbox.data["timeoffs"][timeoff]["status"] == "requested"


async def test_cross_company_ids_are_not_found():
    app = make_app()
    acme = {
        "employments": records(app, "employments")[0]["id"],
        "timeoff": records(app, "timeoffs")[0]["id"],
        "timesheets": records(app, "timesheets")[0]["id"],
        "contractor-invoices": records(app, "invoices")[0]["id"],
        "billing-documents": records(app, "billing_documents")[0]["id"],
    }
    async with client(app, "globex") as c:
        for path, record_id in acme.items():
            response = await c.get(f"/v1/{path}/{record_id}")
            assert response.status_code == 404, path
            assert response.json()["message"].endswith("not found")
        listed = (await c.get("/v1/employments", params={"page_size": 100})).json()["data"]["employments"]
        assert acme["employments"] not in {e["id"] for e in listed}
