"""Confirmation of writes through real SDK clients, on both protocol eras, against the sandbox."""

from __future__ import annotations

import argparse
import time

import mcp_types as t
import pytest
from mcp import Client, MCPError

from ops_mcp.cli.approvals import cmd_approvals
from ops_mcp.governance.approvals import ApprovalStore
from ops_mcp.governance.sealing import request_state_security
from tests.support.runtime import ERAS, make_server, writes
from tests.support.seed import employee_name, requested_timeoff

pytestmark = pytest.mark.anyio

APPROVE = "remote_approve_timeoff"


def answering(action: str, seen: list[str] | None = None, content: dict | None = None):
    async def callback(ctx, params):
        if seen is not None:
            seen.append(params.message)
        return t.ElicitResult(action=action, content=content if action == "accept" else None)

    return callback


def _latest(runtime, tool: str):
    """The newest audit record of ``tool``."""
    return runtime.audit.search(tool=tool, limit=1)[-1].record


def approvals_cli(runtime, command: str, approval_id: str | None = None) -> int:
    """``ops-mcp approvals <command>`` (the ``cli_state`` fixture points it at the runtime's state dir)."""
    args = argparse.Namespace(config=None, approvals_command=command, id=approval_id, all=False, json=False)
    return cmd_approvals(args)


@pytest.fixture
def cli_state(runtime, monkeypatch):
    """Point ``ops-mcp approvals`` at the runtime's state dir, as a config file would."""
    from ops_mcp.cli import approvals as approvals_cli

    monkeypatch.setattr(
        approvals_cli, "_store", lambda config: ApprovalStore(runtime.state_dir / "approvals.sqlite3")
    )
    monkeypatch.setattr(approvals_cli.getpass, "getuser", lambda: "alice")
    return runtime


@pytest.mark.parametrize("mode", ERAS)
async def test_accepted_write_happens_once_with_a_named_summary(runtime, mode):
    args, timeoff = requested_timeoff(runtime)
    seen: list[str] = []
    async with Client(
        make_server(runtime, "hr"), mode=mode, elicitation_callback=answering("accept", seen)
    ) as c:
        result = await c.call_tool(APPROVE, args)
    assert not result.is_error, result.content[0].text
    assert result.structured_content["status"] == "approved"
    assert len(writes(runtime, "remote", "/approve")) == 1
    assert len(seen) == 1
    headline, *rows = seen[0].splitlines()
    assert headline.startswith("Approve ") and employee_name(runtime, timeoff) in headline
    assert "Acme GmbH" in headline and headline.endswith("?")
    # Below the headline, every field the write sets: here the approver, none before.
    assert f"• Approver: (none) → {args['approver_id']}" in rows
    record = _latest(runtime, APPROVE)
    assert record.decision == "allowed"
    assert record.confirmed_by.startswith("elicitation:")


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declined_or_cancelled_write_never_reaches_the_back_end(runtime, mode, action):
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=answering(action)) as c:
        result = await c.call_tool(APPROVE, args)
    assert result.is_error
    assert "Nothing was changed" in result.content[0].text
    assert writes(runtime, "remote") == []
    assert _latest(runtime, APPROVE).decision == "declined"


@pytest.mark.parametrize("mode", ERAS)
async def test_accept_with_confirm_false_counts_as_no(runtime, mode):
    args, _ = requested_timeoff(runtime)
    callback = answering("accept", content={"confirm": False})
    async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=callback) as c:
        result = await c.call_tool(APPROVE, args)
    assert result.is_error and writes(runtime, "remote") == []


@pytest.mark.parametrize("mode", ERAS)
async def test_without_elicitation_a_pending_approval_lets_exactly_one_retry_through(cli_state, mode, capsys):
    runtime = cli_state
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode=mode) as c:
        pending = await c.call_tool(APPROVE, args)
        assert pending.is_error
        data = pending.structured_content
        assert data["status"] == "pending_approval"
        approval_id = data["approval_id"]
        assert approval_id in pending.content[0].text and "approval_id" in pending.content[0].text
        assert _latest(runtime, APPROVE).decision == "pending_approval"

        # Still pending: the retry waits, nothing is sent.
        again = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
        assert again.structured_content["status"] == "pending_approval"
        assert writes(runtime, "remote") == []

        assert approvals_cli(runtime, "list") == 0
        listing = capsys.readouterr().out
        assert approval_id in listing and "Acme GmbH?" in listing and args["timeoff_id"] in listing
        assert approvals_cli(runtime, "approve", approval_id) == 0

        done = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
        assert not done.is_error, done.content[0].text
        assert len(writes(runtime, "remote", "/approve")) == 1
        assert _latest(runtime, APPROVE).confirmed_by == f"approval {approval_id} by alice"

        replay = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
        assert replay.is_error and "already used" in replay.content[0].text
        assert len(writes(runtime, "remote", "/approve")) == 1


async def test_an_approval_is_bound_to_its_arguments_and_agent(make_runtime, monkeypatch):
    runtime = make_runtime(
        {
            # static: these agents call the catalogue tools directly (in discovery mode only the meta-tools answer)
            "hr": {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"},
            "hr2": {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"},
        }
    )
    args, _ = requested_timeoff(runtime)
    other, _ = requested_timeoff(runtime, skip=1)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        approval_id = (await c.call_tool(APPROVE, args)).structured_content["approval_id"]
    ApprovalStore(runtime.state_dir / "approvals.sqlite3").decide(approval_id, approve=True, by="alice")
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        wrong_args = await c.call_tool(APPROVE, {**other, "approval_id": approval_id})
    async with Client(make_server(runtime, "hr2"), mode="legacy") as c:
        wrong_agent = await c.call_tool(APPROVE, {**args, "approval_id": approval_id})
    for result in (wrong_args, wrong_agent):
        assert result.is_error and "different call" in result.content[0].text
    assert writes(runtime, "remote") == []


async def test_denied_and_expired_approvals_are_refused(cli_state):
    runtime = cli_state
    args, _ = requested_timeoff(runtime)
    other, _ = requested_timeoff(runtime, skip=1)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        denied_id = (await c.call_tool(APPROVE, args)).structured_content["approval_id"]
        expired_id = (await c.call_tool(APPROVE, other)).structured_content["approval_id"]
        assert approvals_cli(runtime, "deny", denied_id) == 0
        assert approvals_cli(runtime, "approve", expired_id) == 0
        store = ApprovalStore(runtime.state_dir / "approvals.sqlite3")
        store._db.execute("UPDATE approvals SET expires_at = ? WHERE id = ?", (time.time() - 1, expired_id))
        denied = await c.call_tool(APPROVE, {**args, "approval_id": denied_id})
        expired = await c.call_tool(APPROVE, {**other, "approval_id": expired_id})
        unknown = await c.call_tool(APPROVE, {**args, "approval_id": "apr_nosuchthing"})
    assert denied.is_error and "alice denied" in denied.content[0].text
    assert expired.is_error and "expired" in expired.content[0].text
    assert unknown.is_error and "no approval" in unknown.content[0].text
    assert writes(runtime, "remote") == []


async def test_approval_id_is_advertised_only_where_confirmation_applies(make_runtime):
    runtime = make_runtime(
        {
            "hr": {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"},
            "plain": {"areas": {"remote.*": "full"}, "tool_mode": "static"},
        }
    )
    async with Client(make_server(runtime, "hr")) as c:
        tools = {tool.name: tool for tool in (await c.list_tools()).tools}
    assert "approval_id" in tools[APPROVE].input_schema["properties"]
    assert "approval_id" not in tools["remote_list_timeoff"].input_schema["properties"]  # a read
    assert "approval_id" not in tools["remote_approve_timesheet"].input_schema["properties"]  # not listed
    async with Client(make_server(runtime, "plain")) as c:
        tools = {tool.name: tool for tool in (await c.list_tools()).tools}
    assert "approval_id" not in tools[APPROVE].input_schema["properties"]


# -- 2026-07-28: sealed request state ---------------------------------------------------------------


async def _first_round(client: Client, arguments: dict) -> t.InputRequiredResult:
    first = await client.session.call_tool(APPROVE, arguments, allow_input_required=True)
    assert isinstance(first, t.InputRequiredResult)
    assert first.request_state
    return first


def _accept() -> dict:
    return {"confirm": t.ElicitResult(action="accept", content={"confirm": True})}


async def test_forged_request_state_is_refused(runtime):
    args, _ = requested_timeoff(runtime)
    server = make_server(runtime, "hr")
    async with Client(server, mode="2026-07-28", elicitation_callback=answering("accept")) as c:
        first = await _first_round(c, args)
        forged = first.request_state[:-4] + ("AAAA" if not first.request_state.endswith("AAAA") else "BBBB")
        for state in (forged, "v1.not-a-real-token", "ops1.e30.AAAA"):
            with pytest.raises(MCPError):
                await c.session.call_tool(
                    APPROVE, args, input_responses=_accept(), request_state=state, allow_input_required=True
                )
    assert writes(runtime, "remote") == []


async def test_our_seal_binds_agent_and_is_single_use_even_past_the_sdk_boundary(make_runtime):
    """With a shared SDK key (several workers), our own seal still refuses other agents and replays."""
    runtime = make_runtime(
        {
            # static: these agents call the catalogue tools directly (in discovery mode only the meta-tools answer)
            "hr": {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "confirm_via": "client",
                   "tool_mode": "static"},
            "hr2": {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "confirm_via": "client",
                    "tool_mode": "static"},
        }
    )
    security = request_state_security(runtime.state_dir)
    args, _ = requested_timeoff(runtime)
    hr = make_server(runtime, "hr", request_state_security=security)
    hr2 = make_server(runtime, "hr2", request_state_security=security)
    async with Client(hr, mode="2026-07-28", elicitation_callback=answering("accept")) as c:
        first = await _first_round(c, args)
    async with Client(hr2, mode="2026-07-28", elicitation_callback=answering("accept")) as c:
        stolen = await c.session.call_tool(
            APPROVE,
            args,
            input_responses=_accept(),
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert stolen.is_error and "different agent" in stolen.content[0].text
    async with Client(hr, mode="2026-07-28", elicitation_callback=answering("accept")) as c:
        ok = await c.session.call_tool(
            APPROVE,
            args,
            input_responses=_accept(),
            request_state=first.request_state,
            allow_input_required=True,
        )
        assert not ok.is_error, ok.content[0].text
        replay = await c.session.call_tool(
            APPROVE,
            args,
            input_responses=_accept(),
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert replay.is_error and "already used" in replay.content[0].text
    assert len(writes(runtime, "remote", "/approve")) == 1


async def test_request_state_without_an_answer_is_refused(runtime):
    args, _ = requested_timeoff(runtime)
    async with Client(
        make_server(runtime, "hr"), mode="2026-07-28", elicitation_callback=answering("accept")
    ) as c:
        first = await _first_round(c, args)
        result = await c.session.call_tool(
            APPROVE, args, request_state=first.request_state, allow_input_required=True
        )
    assert result.is_error and "no answer" in result.content[0].text
    assert writes(runtime, "remote") == []
