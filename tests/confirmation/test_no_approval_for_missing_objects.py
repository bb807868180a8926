"""No approval for an object that does not exist (issue 12, item 10), tried from the hostile agent's side.

An agent that guesses ids (``00000000-…``) must not get a person asked about a write that can only
fail — nor learn, from a person's "approved", that it may try again with another guess. What a read
can check is checked before anyone is asked: the write's own target through its GET, and the objects
its ids name where the catalogue has a GET and the agent's policy allows it. A missing object is a
clear error to the agent, no approval, nothing sent, and an audit record saying so.
"""

from __future__ import annotations

import pytest
from mcp import Client

from .ops_harness import ERAS, HR_CONFIRM, HR_PERSON, make_server, requested_timeoff, writes

pytestmark = pytest.mark.anyio

APPROVE = "remote_approve_timeoff"
NOBODY = "00000000-0000-0000-0000-000000000000"


def last_record(runtime, tool: str):
    return runtime.audit.search(tool=tool, limit=1)[-1].record


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("agent", [HR_PERSON, HR_CONFIRM], ids=["person", "client"])
async def test_no_one_is_asked_about_time_off_that_does_not_exist(make_runtime, mode, agent):
    runtime = make_runtime({"hr": agent}, server={"public_url": "https://ops.example"})
    args, _ = requested_timeoff(runtime)
    asked: list = []

    async def would_accept(ctx, params):
        asked.append(params)
        raise AssertionError("nobody should be asked about a write on a missing object")

    async with Client(make_server(runtime, "hr"), mode=mode, elicitation_callback=would_accept) as c:
        result = await c.call_tool(APPROVE, {**args, "timeoff_id": NOBODY})
    assert result.is_error and result.structured_content["status"] == "not_found"
    text = result.content[0].text
    assert f"there is no time off {NOBODY}" in text and "nobody was asked" in text
    assert asked == []
    assert runtime.approvals.list(include_done=True) == []
    assert writes(runtime, "remote") == []
    record = last_record(runtime, APPROVE)
    assert record.decision == "invalid" and f"there is no time off {NOBODY}" in record.error
    assert record.confirmed_by is None


async def test_a_referenced_object_that_does_not_exist_stops_the_write_too(make_runtime):
    runtime = make_runtime({"hr": HR_PERSON})
    arguments = {
        "employment_id": NOBODY, "start_date": "2026-12-02", "end_date": "2026-12-02", "timezone": "Europe/Berlin",
        "timeoff_days": [{"day": "2026-12-02", "hours": 8}], "timeoff_type": "time_off",
        "status": "approved", "approver_id": NOBODY, "approved_at": "2026-11-30T10:00:00Z",
    }
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        result = await c.call_tool("remote_create_timeoff", arguments)
    assert result.is_error and result.structured_content["status"] == "not_found"
    # The employment has a GET and is missing; the approver has none, so it is not claimed missing.
    assert result.structured_content["missing"] == [f"there is no employment {NOBODY} (Employment)"]
    assert runtime.approvals.list(include_done=True) == []
    assert writes(runtime, "remote") == []
    assert last_record(runtime, "remote_create_timeoff").decision == "invalid"


async def test_a_missing_work_order_is_refused_before_anyone_is_asked(make_runtime):
    # static: the agent calls the catalogue tool directly (in discovery mode only the meta-tools answer)
    runtime = make_runtime({"ops": {"areas": {"remoteops.*": "full"}, "confirm": ["remoteops.work_orders"],
                                    "tool_mode": "static"}})
    async with Client(make_server(runtime, "ops"), mode="2026-07-28") as c:
        result = await c.call_tool("remoteops_transition_work_order", {"work_order_id": "wo_nosuch", "to": "completed"})
    assert result.structured_content["status"] == "not_found"
    assert "there is no work order wo_nosuch" in result.content[0].text
    assert runtime.approvals.list(include_done=True) == []
    assert writes(runtime, "remoteops") == []


async def test_an_object_that_exists_still_gets_a_person_asked(make_runtime):
    runtime = make_runtime({"hr": HR_PERSON})
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        result = await c.call_tool(APPROVE, args)
    assert result.structured_content["status"] == "pending_approval"
    assert len(runtime.approvals.list()) == 1


async def test_only_a_definite_not_found_counts_as_missing(make_runtime):
    """A read that fails, is refused or cannot be made is "unknown": the person is asked, with the id."""
    from ops_mcp.governance.lookups import Getters, Lookups

    runtime = make_runtime({"hr": HR_PERSON})
    policy = runtime.policy("hr")
    getters = Getters(runtime.catalogue)
    answers = iter([(500, None), (403, {"message": "no"}), (404, None), (410, None), (200, {"data": []})])

    async def upstream(agent, backend, path):
        return next(answers)

    lookups = Lookups(getters, upstream, "hr", "remote", policy)
    states = [(await lookups.get("/v1/timeoff/{}", f"id{i}")).state for i in range(5)]
    assert states == ["unknown", "unknown", "missing", "missing", "unknown"]
    assert (await lookups.get("/v1/timeoff/{}", "../../admin")).state == "unknown"  # never put in a path


async def test_a_read_the_policy_forbids_is_not_made_and_not_claimed_missing(make_runtime):
    runtime = make_runtime({"hr": {**HR_PERSON, "areas": {"remote.timeoff": "full"}}})  # employments off
    endpoint = runtime.policy("hr").endpoints["remote_create_timeoff"]
    change = await runtime.confirmer.summarizer.describe("hr", endpoint, {"employment_id": NOBODY})
    assert change.missing == ()
    assert next(r for r in change.changes if r.field == "employment_id").after == NOBODY
