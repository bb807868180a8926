"""The partner authorization-code flow end to end: authorize -> consent -> code -> token -> refresh.

Codes are single use and expire on the sandbox clock; redirect URIs must be registered (or loopback);
refresh tokens only work for the client they were issued to and are rotated with a grace period
(configurable: Remote itself does not rotate).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.sandbox.remote_fixtures import (
    LIMITED,
    LOOPBACK,
    PARTNER,
    authorization_code,
    bearer,
    client,
    company_token,
    make_app,
    records,
    token_request,
)

pytestmark = pytest.mark.anyio


def _query(response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["location"]).query).items()}


async def test_authorize_consent_code_token_refresh():
    app = make_app(token_ttl_seconds=600)
    state = app.state.sandbox
    acme = state.company_by_slug("acme")
    globex_employment = records(app, "employments", "globex")[0]["id"]
    async with client(app, token=None) as c:
        hostile = '"><script>alert(1)</script>'
        params = {"client_id": PARTNER[0], "redirect_uri": LOOPBACK, "state": hostile,
                  "scope": "https://gateway.remote.com/company.manage", "response_type": "code"}
        page = await c.get("/auth/oauth2/authorize", params=params)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Acme GmbH" in page.text and "Globex Ltd" in page.text and "Sandbox HR Partner" in page.text
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text  # agent-supplied text is escaped
        assert 'name="company_id"' in page.text or "name='company_id'" in page.text

        approved = await c.post("/auth/oauth2/authorize", data={**params, "company_id": acme["id"],
                                                               "decision": "approve"})
        assert approved.status_code == 302
        assert approved.headers["location"].startswith(LOOPBACK)
        answer = _query(approved)
        assert answer["state"] == hostile and answer["code"]

        tokens = await token_request(c, {"grant_type": "authorization_code", "code": answer["code"],
                                         "redirect_uri": LOOPBACK})
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        assert body["company_id"] == acme["id"] and body["user_id"] == acme["company_owner_user_id"]
        assert body["token_type"] == "Bearer" and body["expires_in"] == 600 and body["refresh_token"]
        access = bearer(body["access_token"])
        listed = (await c.get("/v1/employments", params={"page_size": 100}, headers=access)).json()["data"]
        assert listed["total_count"] == len(records(app, "employments", "acme"))
        assert (await c.get(f"/v1/employments/{globex_employment}", headers=access)).status_code == 404
        identity = (await c.get("/v1/identity/current", headers=access)).json()["data"]
        assert identity["company"]["id"] == acme["id"] and identity["client_id"] == PARTNER[0]

        first = body["refresh_token"]
        renewed = await token_request(c, {"grant_type": "refresh_token", "refresh_token": first})
        assert renewed.status_code == 200
        second = renewed.json()["refresh_token"]
        assert second != first  # rotated (the emulator's default)
        assert (await c.get("/v1/timeoff", headers=bearer(renewed.json()["access_token"]))).status_code == 200
        # The previous refresh token keeps working during the grace period (a lost response is retried) ...
        retried = await token_request(c, {"grant_type": "refresh_token", "refresh_token": first})
        assert retried.status_code == 200
        # ... and not after it.
        state.settings.clock.advance(state.settings.refresh_token_grace_seconds + 1)
        late = await token_request(c, {"grant_type": "refresh_token", "refresh_token": first})
        assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
        third = await token_request(c, {"grant_type": "refresh_token", "refresh_token": second})
        assert third.status_code == 200 and third.json()["refresh_token"] not in (first, second)


async def test_code_is_single_use_and_a_replay_revokes_its_tokens():
    app = make_app()
    async with client(app, token=None) as c:
        code = await authorization_code(app, c, "acme")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK}
        first = await token_request(c, form)
        assert first.status_code == 200
        replay = await token_request(c, form)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        access = bearer(first.json()["access_token"])
        assert (await c.get("/v1/employments", headers=access)).status_code == 401
        refreshed = await token_request(c, {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]})
        assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_code_expires_after_five_minutes_on_the_sandbox_clock():
    app = make_app()
    async with client(app, token=None) as c:
        code = await authorization_code(app, c, "acme")
        app.state.sandbox.settings.clock.advance(301)
        late = await token_request(c, {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK})
        assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
        assert "expired" in late.json()["error_description"]
        fresh = await authorization_code(app, c, "acme")
        app.state.sandbox.settings.clock.advance(299)
        ok = await token_request(c, {"grant_type": "authorization_code", "code": fresh, "redirect_uri": LOOPBACK})
        assert ok.status_code == 200


async def test_wrong_redirect_uri_is_refused():
    app = make_app()
    acme = app.state.sandbox.company_by_slug("acme")["id"]
    async with client(app, token=None) as c:
        for bad in ("https://evil.example/callback", "http://evil.example/cb", "javascript:alert(1)", ""):
            params = {"client_id": PARTNER[0], "redirect_uri": bad, "state": "s", "response_type": "code"}
            page = await c.get("/auth/oauth2/authorize", params=params)
            assert page.status_code == 400 and "location" not in page.headers, bad
            posted = await c.post("/auth/oauth2/authorize", data={**params, "company_id": acme, "decision": "approve"})
            assert posted.status_code == 400 and "location" not in posted.headers, bad
        registered = await c.get("/auth/oauth2/authorize", params={
            "client_id": PARTNER[0], "redirect_uri": "https://partner.example/oauth/callback", "response_type": "code"})
        assert registered.status_code == 200
        unknown_client = await c.get("/auth/oauth2/authorize", params={
            "client_id": "nobody", "redirect_uri": LOOPBACK, "response_type": "code"})
        assert unknown_client.status_code == 400
        code = await authorization_code(app, c, "acme")
        swapped = await token_request(c, {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": "http://127.0.0.1:9999/other"})
        assert swapped.status_code == 400 and swapped.json()["error"] == "invalid_grant"
        assert not app.state.sandbox.access_tokens


async def test_another_clients_code_and_refresh_token_are_refused():
    app = make_app()
    async with client(app, token=None) as c:
        tokens = await company_token(app, c, "acme", PARTNER)
        stolen = await token_request(c, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                                     LIMITED)
        assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
        code = await authorization_code(app, c, "acme", PARTNER)
        other = await token_request(c, {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK},
                                    LIMITED)
        assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
        own = await token_request(c, {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK})
        assert own.status_code == 200  # the rightful client can still use its code
        wrong_secret = await token_request(c, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                                           (PARTNER[0], "not-the-secret"))
        assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"


async def test_denied_consent_unsupported_response_type_and_excess_scope_redirect_with_an_error():
    app = make_app()
    acme = app.state.sandbox.company_by_slug("acme")["id"]
    async with client(app, token=None) as c:
        base = {"client_id": PARTNER[0], "redirect_uri": LOOPBACK, "state": "s1", "response_type": "code"}
        denied = await c.post("/auth/oauth2/authorize", data={**base, "company_id": acme, "decision": "deny"})
        assert denied.status_code == 302 and _query(denied) == {"error": "access_denied", "state": "s1"}
        token_flow = await c.get("/auth/oauth2/authorize", params={**base, "response_type": "token"})
        assert token_flow.status_code == 302 and _query(token_flow)["error"] == "unsupported_response_type"
        greedy = await c.get("/auth/oauth2/authorize", params={**base, "client_id": LIMITED[0],
                                                                "scope": "employment:write"})
        assert greedy.status_code == 302 and _query(greedy)["error"] == "invalid_scope"
        assert not app.state.sandbox.authorization_codes


async def test_consent_can_narrow_scopes():
    app = make_app()
    async with client(app, token=None) as c:
        tokens = await company_token(app, c, "acme", scope="timeoff:read")
        access = bearer(tokens["access_token"])
        assert (await c.get("/v1/timeoff", headers=access)).status_code == 200
        refused = await c.get("/v1/employments", headers=access)
        assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}


async def test_rotation_can_be_turned_off_to_behave_like_remote():
    app = make_app(refresh_token_rotation=False)
    async with client(app, token=None) as c:
        tokens = await company_token(app, c, "globex")
        for _ in range(3):
            again = await token_request(c, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
            assert again.status_code == 200 and again.json()["refresh_token"] == tokens["refresh_token"]
            assert "company_id" not in again.json()  # Remote: only the code exchange names the company
        globex = app.state.sandbox.company_by_slug("globex")["id"]
        listed = (await c.get("/v1/company-managers", headers=bearer(again.json()["access_token"]))).json()
        assert {m["company_id"] for m in listed["data"]["company_managers"]} == {globex}


async def test_consent_authorises_a_company_for_the_partner():
    app = make_app()
    state = app.state.sandbox
    globex = state.company_by_slug("globex")
    globex["_partners"] = []  # Globex has not authorised any partner yet
    async with client(app, token=None) as c:
        partner = bearer((await token_request(c, {"grant_type": "client_credentials"})).json()["access_token"])
        before = {co["name"] for co in (await c.get("/v1/companies", headers=partner)).json()["companies"]}
        assert before == {"Acme GmbH"}
        await company_token(app, c, "globex")
        after = {co["name"] for co in (await c.get("/v1/companies", headers=partner)).json()["companies"]}
        assert after == {"Acme GmbH", "Globex Ltd"}
