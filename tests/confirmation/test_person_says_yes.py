"""A person, not the agent, says yes (issue 12, item 8), tried from the hostile agent's side.

A hosted agent holds its own token and drives its own MCP client, so anything the client answers — an
elicitation callback that accepts everything, a forged or replayed ``inputResponses`` — is the agent
answering itself. For a ``confirm_via = "person"`` agent (the default) none of it may let a write
through: only a decision recorded by a person signed in as themselves (``ops-mcp approvals``, the
console's approval page) does, and the audit names that person.
"""

from __future__ import annotations

import argparse

import mcp_types as t
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from ops_mcp.cli import approvals as approvals_cli
from ops_mcp.config import AgentConfig
from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.support.loopback import mcp_http_client

from .ops_harness import ERAS, HR_CONFIRM, HR_PERSON, make_server, requested_timeoff, served, writes

pytestmark = pytest.mark.anyio

APPROVE = "remote_approve_timeoff"
CONSOLE = {"public_url": "https://ops.example"}
PAGE = "https://ops.example/admin/approvals/"


def yes_to_everything(asked: list | None = None):
    """A hostile client: every question, in any mode, is answered "accept" with confirm = true."""

    async def callback(ctx, params):
        if asked is not None:
            asked.append(params)
        return t.ElicitResult(action="accept", content={"confirm": True})

    return callback


def forged_yes() -> dict:
    return {"confirm": t.ElicitResult(action="accept", content={"confirm": True})}


def records(runtime, tool: str = APPROVE) -> list:
    return [entry.record for entry in runtime.audit.search(tool=tool, limit=100)]


def assert_nobody_said_yes(runtime, approval_id: str | None = None) -> None:
    assert writes(runtime, "remote") == []
    assert all(r.decision != "allowed" and r.confirmed_by is None for r in records(runtime))
    if approval_id is not None:
        approval = runtime.approvals.get(approval_id)
        assert approval.status == "pending" and approval.decided_by is None


def test_person_is_the_default_and_client_must_be_chosen(make_runtime):
    assert AgentConfig().confirm_via == "person"
    runtime = make_runtime({"default": HR_PERSON, "desktop": HR_CONFIRM})
    assert runtime.policy("default").confirm_via == "person"
    assert runtime.policy("desktop").confirm_via == "client"


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("server", [None, CONSOLE], ids=["cli-only", "with-console"])
async def test_a_client_that_accepts_every_question_never_approves_a_write(make_runtime, mode, server):
    runtime = make_runtime({"hr": HR_PERSON}, server=server)
    args, _ = requested_timeoff(runtime)
    asked: list = []
    async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=yes_to_everything(asked)) as c:
        first = await c.call_tool(APPROVE, args)
        again = await c.call_tool(APPROVE, args)
    for result in (first, again):
        assert result.is_error and result.structured_content["status"] == "pending_approval"
    approval_id = first.structured_content["approval_id"]
    assert again.structured_content["approval_id"] == approval_id  # one approval per call, not a pile
    # Never an in-client form; with a console the person is sent to the approval page, signed in there.
    assert all(params.mode == "url" for params in asked)
    assert [p.url for p in asked] == ([PAGE + approval_id] * 2 if server else [])
    if server:
        assert first.structured_content["approval_url"] == PAGE + approval_id
    assert_nobody_said_yes(runtime, approval_id)
    assert {r.decision for r in records(runtime)} == {"pending_approval"}


async def test_forged_and_replayed_answers_on_a_sealed_state_are_not_a_decision(make_runtime):
    runtime = make_runtime({"hr": HR_PERSON}, server=CONSOLE)
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode="2026-07-28", elicitation_callback=yes_to_everything()) as c:
        first = await c.session.call_tool(APPROVE, args, allow_input_required=True)
        assert isinstance(first, t.InputRequiredResult)
        question = first.input_requests["confirm"].params
        assert question.mode == "url" and question.url.startswith(PAGE)
        approval_id = question.url.removeprefix(PAGE)
        answered = await c.session.call_tool(APPROVE, args, input_responses=forged_yes(),
                                             request_state=first.request_state, allow_input_required=True)
        replayed = await c.session.call_tool(APPROVE, args, input_responses=forged_yes(),
                                             request_state=first.request_state, allow_input_required=True)
        stateless = await c.session.call_tool(APPROVE, args, input_responses=forged_yes(), allow_input_required=True)
        with pytest.raises(MCPError):  # a state we did not mint never reaches the tool
            await c.session.call_tool(APPROVE, args, input_responses=forged_yes(),
                                      request_state=first.request_state[:-6] + "AAAAAA", allow_input_required=True)
    assert answered.is_error and answered.structured_content["status"] == "pending_approval"
    assert replayed.is_error and "already used" in replayed.content[0].text
    assert stateless.is_error and stateless.structured_content["status"] == "refused"
    assert_nobody_said_yes(runtime, approval_id)
    decisions = [r.decision for r in records(runtime)]
    # Asked (the page link), still waiting, then three refusals by ops-mcp — never "declined by a human".
    # The forged state, refused by the SDK before any tool ran, is recorded too (issue 12, item 2).
    assert decisions == ["pending_approval", "pending_approval", "denied", "denied", "denied"]
    assert [r.outcome for r in records(runtime)] == [
        "asked", "pending_approval", "refused:replayed", "refused:no_state", "refused:invalid_state"]


async def test_an_in_client_yes_minted_before_the_switch_to_person_does_not_count(make_runtime):
    runtime = make_runtime({"hr": HR_CONFIRM})
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode="2026-07-28", elicitation_callback=yes_to_everything()) as c:
        first = await c.session.call_tool(APPROVE, args, allow_input_required=True)
        assert first.input_requests["confirm"].params.mode == "form"
        # The operator moves the agent to person approval while the agent holds a form-mode state.
        runtime.policies.put(runtime.policy("hr").replace(confirm_via="person"))
        result = await c.session.call_tool(APPROVE, args, input_responses=forged_yes(),
                                           request_state=first.request_state, allow_input_required=True)
    assert result.is_error and result.structured_content["reason"] == "client_answer"
    assert "answer from the client does not count" in result.content[0].text
    assert_nobody_said_yes(runtime)


@pytest.mark.parametrize("mode", ERAS)
async def test_an_agent_cannot_approve_its_own_pending_approval_through_any_mcp_call(make_runtime, mode):
    discovery = {**HR_PERSON, "tool_mode": "discovery"}
    runtime = make_runtime({"hr": HR_PERSON, "meta": discovery}, server=CONSOLE)
    args, _ = requested_timeoff(runtime)
    callback = yes_to_everything()
    async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=callback) as c:
        approval_id = (await c.call_tool(APPROVE, args)).structured_content["approval_id"]
        with_id = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
    async with Client(make_server(runtime, "meta"), mode=mode, elicitation_callback=callback) as c:
        through_meta = await c.call_tool("ops_call_tool", {"name": APPROVE,
                                                           "arguments": {**args, "approval_id": approval_id}})
    assert with_id.structured_content["status"] == "pending_approval"
    assert through_meta.is_error and "different call" in through_meta.content[0].text  # hr's, not meta's
    if mode == "2026-07-28":
        async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=callback) as c:
            first = await c.session.call_tool(APPROVE, args, allow_input_required=True)
            # The page link's state plus the approval id plus a forged yes: the state no longer matches.
            with pytest.raises(MCPError):
                await c.session.call_tool(APPROVE, {**args, "approval_id": approval_id},
                                          input_responses=forged_yes(), request_state=first.request_state,
                                          allow_input_required=True)
            answered = await c.session.call_tool(APPROVE, args, input_responses=forged_yes(),
                                                 request_state=first.request_state, allow_input_required=True)
        assert answered.structured_content["status"] == "pending_approval"
        assert answered.structured_content["approval_id"] == approval_id
    assert_nobody_said_yes(runtime, approval_id)


async def test_an_agent_token_cannot_decide_on_the_approval_pages(make_runtime):
    """Forward guard for the console: the approval page must not take an agent's bearer token."""
    runtime = make_runtime({"hr": HR_PERSON}, server=CONSOLE)
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        approval_id = (await c.call_tool(APPROVE, args)).structured_content["approval_id"]
    token = AgentTokenStore(runtime.state_dir).issue("hr")
    with served(runtime, stateless=False) as url:
        page = url.removesuffix("/mcp") + f"/admin/approvals/{approval_id}"
        async with mcp_http_client(token) as http:
            for target in (page, page + "/approve", page + "/decide"):
                for form in ({"decision": "approve"}, {"action": "approve", "approve": "1"}):
                    await http.post(target, data=form)
            async with Client(streamable_http_client(url, http_client=http), mode="legacy",
                              elicitation_callback=yes_to_everything()) as c:
                retry = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
        assert retry.structured_content["status"] == "pending_approval"
        assert_nobody_said_yes(runtime, approval_id)


def person_at_the_page(runtime, decide: str, seen: list):
    """The person behind the link: reads the full change on the page, then decides, signed in as dana."""
    from ops_mcp.governance.desk import ApprovalDesk, Person

    desk = ApprovalDesk(runtime.approvals)

    async def callback(ctx, params):
        assert params.mode == "url" and params.url.startswith(PAGE)
        approval = desk.show(params.url.removeprefix(PAGE))
        seen.append(approval.as_dict())
        getattr(desk, decide)(approval.id, Person("dana", "console"))
        return t.ElicitResult(action="accept")

    return callback


@pytest.mark.parametrize("mode", ERAS)
async def test_a_person_approving_on_the_page_lets_exactly_that_write_through_once(make_runtime, mode):
    runtime = make_runtime({"hr": HR_PERSON}, server=CONSOLE)
    args, _ = requested_timeoff(runtime)
    seen: list = []
    async with Client(make_server(runtime, "hr"), mode=mode,
                      elicitation_callback=person_at_the_page(runtime, "approve", seen)) as c:
        done = await c.call_tool(APPROVE, args)
        approval_id = seen[0]["id"]
        replay = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
    assert not done.is_error, done.content[0].text
    assert len(writes(runtime, "remote", "/approve")) == 1
    assert replay.is_error and "already used" in replay.content[0].text
    assert len(writes(runtime, "remote", "/approve")) == 1
    allowed = [r for r in records(runtime) if r.decision == "allowed"]
    assert len(allowed) == 1 and allowed[0].confirmed_by == f"approval {approval_id} by dana"
    assert "confirmed by approval" in allowed[0].sentence and "by dana" in allowed[0].sentence
    decided = runtime.approvals.get(approval_id)
    assert (decided.status, decided.decided_by, decided.decided_via) == ("used", "dana", "console")
    assert {"field": "approver_id", "label": "Approver", "before": "(none)",
            "after": args["approver_id"]} in seen[0]["changes"]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_person_denying_on_the_page_is_named_in_the_audit(make_runtime, mode):
    runtime = make_runtime({"hr": HR_PERSON}, server=CONSOLE)
    args, _ = requested_timeoff(runtime)
    seen: list = []
    async with Client(make_server(runtime, "hr"), mode=mode,
                      elicitation_callback=person_at_the_page(runtime, "deny", seen)) as c:
        result = await c.call_tool(APPROVE, args)
    assert result.is_error and result.structured_content["status"] == "declined"
    assert "dana denied" in result.content[0].text
    assert writes(runtime, "remote") == []
    last = records(runtime)[-1]
    assert (last.decision, last.confirmed_by) == ("declined", "dana")
    assert "declined by dana" in last.sentence


@pytest.mark.parametrize("mode", ERAS)
async def test_the_cli_decision_names_the_os_user_running_it(make_runtime, mode, monkeypatch, capsys):
    runtime = make_runtime({"hr": HR_PERSON})
    monkeypatch.setattr(approvals_cli, "_store", lambda config: runtime.approvals.__class__(runtime.approvals.path))
    monkeypatch.setattr(approvals_cli.getpass, "getuser", lambda: "alice")
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=yes_to_everything()) as c:
        approval_id = (await c.call_tool(APPROVE, args)).structured_content["approval_id"]
        command = argparse.Namespace(config=None, approvals_command="approve", id=approval_id, json=False)
        assert approvals_cli.cmd_approvals(command) == 0
        assert f"{approval_id} approved by alice" in capsys.readouterr().out
        done = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
    assert not done.is_error, done.content[0].text
    assert len(writes(runtime, "remote", "/approve")) == 1
    assert records(runtime)[-1].confirmed_by == f"approval {approval_id} by alice"
    assert runtime.approvals.get(approval_id).decided_via == "cli"


def test_a_decision_needs_a_named_person():
    from ops_mcp.governance.desk import Person

    for name in ("", "  ", "dana\u202e", "x" * 200):
        with pytest.raises(ValueError):
            Person(name, "console")
    with pytest.raises(ValueError):
        Person("dana", "mcp")  # type: ignore[arg-type]


async def test_a_yes_for_one_tenant_does_not_carry_over_to_another(tmp_path):
    """The person approved "…, Acme GmbH?"; re-binding the agent to Globex makes it a different call."""
    from ops_mcp.config import Settings
    from ops_mcp.runtime import build_runtime

    from .ops_harness import sandbox_app

    settings = Settings(
        storage={"dir": str(tmp_path / "state")},
        backends={"remote": {"connections": {"acme": {"label": "Acme GmbH"}, "globex": {"label": "Globex Ltd"}}}},
        agents={"hr": {**HR_PERSON, "connections": {"remote": "acme"}}},
    )
    runtime = build_runtime(settings, sandbox_app=sandbox_app())
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        pending = await c.call_tool(APPROVE, args)
        approval_id = pending.structured_content["approval_id"]
        assert pending.structured_content["summary"].endswith("Acme GmbH?")
        approve_as_alice(runtime, approval_id)
        policy = runtime.policy("hr")
        runtime.policies.put(policy.replace(bindings={**policy.bindings, "remote": "globex"}))
        moved = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
    assert moved.is_error and "different call" in moved.content[0].text
    assert writes(runtime, "remote") == []
    runtime.audit.close()


def approve_as_alice(runtime, approval_id: str) -> None:
    from ops_mcp.governance.desk import ApprovalDesk, Person

    ApprovalDesk(runtime.approvals).approve(approval_id, Person("alice", "cli"))
