"""The operator console in a real browser (Chromium via Playwright), against a real server on loopback,
with real MCP clients over streamable HTTP on the other side.

Pages are driven by their accessible names — the contract a held-out browser script relies on: each access
row is a radio group named "<agent> <area title>" with options "Off", "Read", "Full", and one "Save".
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.support.runtime import writes
from tests.support.seed import requested_timeoff

from .support import HttpSession, ListChangedWatch, in_thread, mcp_client, sign_in, tool_names

APPROVE = "remote_approve_timeoff"


def area_tools(runtime: Any, area: str) -> set[str]:
    return {e.tool for m in runtime.catalogue.values() for e in m.endpoints if e.area == area}


def sentences(runtime: Any) -> list[str]:
    return [e.record.sentence for e in runtime.audit.tail(1000)]


def test_sign_in_returns_to_the_page_asked_for_and_roles_bound_what_each_person_can_do(served, page):
    base = served.url
    page.goto(f"{base}/admin/agents/people-ops")
    assert "/admin/signin" in page.url
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong name or password."

    sign_in(page, base, "ada", served.passwords["ada"], at="/admin/agents/people-ops")
    assert page.url.endswith("/admin/agents/people-ops")
    # An auditor reads the matrix but cannot change it: the options are disabled and there is no Save.
    full = page.get_by_role("radiogroup", name="people-ops Time off").get_by_role("radio", name="Full")
    assert full.is_disabled()
    assert page.get_by_role("button", name="Save").count() == 0
    auditor = HttpSession(base, "ada", served.passwords["ada"])
    refused = auditor.post("/admin/agents/people-ops", {"level:remote.timeoff": "full"})
    assert refused.status_code == 403 and "auditor" in refused.text
    assert served.runtime.policies["people-ops"].level("remote.timeoff") == "off"

    # An approver cannot mint tokens: no button, and the form itself is refused.
    sign_in(page, base, "alex", served.passwords["alex"], at="/admin/agents")
    assert page.get_by_role("button", name="Rotate the token of people-ops").count() == 0
    approver = HttpSession(base, "alex", served.passwords["alex"])
    before = served.runtime.state_dir.joinpath("agent_tokens.json").read_bytes()
    assert approver.post("/admin/agents/people-ops/token", {}).status_code == 403
    assert served.runtime.state_dir.joinpath("agent_tokens.json").read_bytes() == before

    # The admin can: a new token shown once, the old one refused at the next request.
    sign_in(page, base, "dana", served.passwords["dana"], at="/admin/agents")
    page.get_by_role("button", name="Rotate the token of people-ops").click()
    new_token = page.get_by_label("New token").inner_text().strip()
    assert new_token.startswith("omcp_") and new_token != served.tokens["people-ops"]
    assert in_thread(lambda: tool_names(base, new_token))
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error for a 401
        in_thread(lambda: tool_names(base, served.tokens["people-ops"]))
    assert "admin dana rotated the token of people-ops" in sentences(served.runtime)


def test_flipping_a_matrix_cell_changes_the_agents_tool_list_at_once(served, page):
    base, runtime = served.url, served.runtime
    timeoff = area_tools(runtime, "remote.timeoff")
    with ListChangedWatch(base, served.tokens["people-ops"]) as watch:
        assert not watch.before & timeoff
        sign_in(page, base, "dana", served.passwords["dana"], at="/admin/agents/people-ops")
        row = page.get_by_role("radiogroup", name="people-ops Time off")
        assert row.get_by_role("radio", name="Off").is_checked()
        row.get_by_role("radio", name="Full").check()
        page.get_by_role("button", name="Save").click()
        assert "set people-ops remote.timeoff to full" in page.get_by_role("status").inner_text()
        watch.go()
    # The open session was told, and its next tools/list shows the change.
    assert watch.after is not None and timeoff <= watch.after, watch.error
    assert timeoff <= in_thread(lambda: tool_names(base, served.tokens["people-ops"]))
    assert (
        page.get_by_role("radiogroup", name="people-ops Time off")
        .get_by_role("radio", name="Full")
        .is_checked()
    )
    assert "admin dana set people-ops remote.timeoff to full (was off)" in sentences(runtime)

    # The overview of every agent × area works the same way.
    page.goto(f"{base}/admin/access")
    page.get_by_role("radiogroup", name="people-ops Payroll").get_by_role("radio", name="Read").check()
    page.get_by_role("button", name="Save").click()
    assert runtime.policies["people-ops"].level("remote.payroll") == "read"
    assert area_tools(runtime, "remote.payroll") <= in_thread(
        lambda: tool_names(base, served.tokens["people-ops"])
    )


def test_approving_a_pending_write_on_its_page_lets_exactly_one_write_through(served, page):
    base, runtime = served.url, served.runtime
    args, _ = requested_timeoff(runtime)

    async def ask(extra: dict[str, Any]) -> Any:
        async with mcp_client(base, served.tokens["hr-desk"]) as client:
            return await client.call_tool(APPROVE, {**args, **extra})

    pending = in_thread(lambda: ask({}))
    assert pending.structured_content["status"] == "pending_approval"
    approval_id = pending.structured_content["approval_id"]
    link = pending.structured_content["approval_url"]
    assert link == f"{base}/admin/approvals/{approval_id}"  # the URL-mode elicitation target is this page
    assert writes(runtime, "remote") == []

    page.goto(link)  # signed out: sign in, then straight back to the approval
    page.get_by_label("Name").fill("alex")
    page.get_by_label("Password").fill(served.passwords["alex"])
    page.get_by_role("button", name="Sign in").click()
    assert page.url == link
    changes = page.get_by_role("table").inner_text()
    assert "Approver" in changes and args["approver_id"] in changes
    assert "hr-desk" in page.inner_text("dl")
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_role("status").inner_text() == "You approved this write."
    assert "alex (console)" in page.inner_text("dl")

    done = in_thread(lambda: ask({"approval_id": approval_id}))
    assert not done.is_error, done.content[0].text
    again = in_thread(lambda: ask({"approval_id": approval_id}))
    assert again.is_error and "already used" in again.content[0].text
    assert len(writes(runtime, "remote", "/approve")) == 1
    decided = runtime.approvals.get(approval_id)
    assert (decided.decided_by, decided.decided_via) == ("alex", "console")
    assert any(s.startswith(f"approver alex approved approval {approval_id}") for s in sentences(runtime))


def test_the_audit_log_filters_verifies_and_exports_what_it_shows(served, page):
    from playwright.sync_api import expect  # the fixtures skip (or fail, on CI) when playwright is missing

    base = served.url
    hostile = "<script>alert(1)</script>"

    async def calls() -> None:
        async with mcp_client(base, served.tokens["people-ops"]) as client:
            await client.call_tool("remote_list_employments", {})
            await client.call_tool(hostile, {})
            await client.call_tool(APPROVE, {"timeoff_id": "t1", "approver_id": "m1"})

    in_thread(calls)
    sign_in(page, base, "ada", served.passwords["ada"], at="/admin/audit")
    page.get_by_label("Agent").fill("people-ops")
    page.get_by_label("Decision").select_option("denied")
    page.get_by_role("button", name="Filter").click()
    shown = page.get_by_role("list", name="Audit records, newest first").get_by_role("listitem")
    expect(shown).to_have_count(2)  # waits for the filtered page, as a person would
    assert "tried to approve time off" in shown.nth(0).inner_text()  # newest first
    assert hostile in shown.nth(1).inner_text()
    assert page.locator("script").count() == 0  # the agent's text is shown, never run

    page.get_by_label("Tool").fill(APPROVE)
    page.get_by_role("button", name="Filter").click()
    expect(shown).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [(r["agent"], r["tool"], r["decision"]) for r in rows] == [("people-ops", APPROVE, "denied")]
    assert "arguments" in rows[0]  # the auditor's export carries the argument detail
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as JSON Lines").click()
    lines = [json.loads(line) for line in download.value.path().read_text().splitlines()]
    assert [(r["agent"], r["tool"], r["decision"]) for r in lines] == [("people-ops", APPROVE, "denied")]

    shown.first.get_by_role("link").click()
    assert APPROVE in page.inner_text("dl")
    assert page.get_by_role("heading", name="Arguments").is_visible()

    page.goto(f"{base}/admin/audit")
    page.get_by_role("link", name="Verify the chain").click()
    assert page.get_by_role("status").inner_text().startswith("Chain verified: all")


def test_a_state_change_without_the_csrf_token_is_refused(served):
    admin = HttpSession(served.url, "dana", served.passwords["dana"])
    refused = admin.post("/admin/agents/people-ops", {"level:remote.timeoff": "full"}, csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = admin.http.post(
        "/admin/agents/people-ops", data={"level:remote.timeoff": "full", "csrf": "x" * 43}
    )
    assert forged.status_code == 403
    assert served.runtime.policies["people-ops"].level("remote.timeoff") == "off"
    accepted = admin.post("/admin/agents/people-ops", {"level:remote.timeoff": "full"})
    assert accepted.status_code == 303
    assert served.runtime.policies["people-ops"].level("remote.timeoff") == "full"
