"""The pieces of a change summary and of the approvals desk, one rule per test."""

from __future__ import annotations

import hashlib

import pytest
from mcp import Client

from ops_mcp.governance.approvals import ApprovalStore, TooManyPending, args_hash
from ops_mcp.governance.changes import (
    MAX_ROWS,
    MAX_VALUE,
    UNKNOWN,
    ChangeSummary,
    FieldChange,
    before_of,
    flatten,
    label_of,
    preview,
    show,
)
from ops_mcp.governance.desk import ApprovalDesk, Person

from .ops_harness import HR_PERSON, make_server, requested_timeoff, writes

pytestmark = pytest.mark.anyio


def test_a_preview_says_how_much_it_left_out():
    assert preview("abcdef", 10) == "abcdef"
    assert preview("abcdefghij" * 3, 10, "; see it in full") == "abcdefghij… [+20 characters; see it in full]"


def test_values_read_as_a_person_reads_them():
    assert [show(v) for v in (None, True, False, 0, "", "x\u2028y")] == ["(none)", "yes", "no", "0", "(empty)",
                                                                         "x\\u2028y"]
    assert show({"b": 1, "a": [1, "\u202e"]}) == '{"a": [1, "\\u202e"], "b": 1}'


def test_a_huge_value_says_what_is_not_shown_and_its_hash():
    value = "x" * (MAX_VALUE + 5)
    shown = show(value)
    assert shown.startswith("x" * MAX_VALUE) and len(shown) < MAX_VALUE + 120
    assert f"[+5 characters not shown; SHA-256 {hashlib.sha256(value.encode()).hexdigest()}]" in shown


def test_labels_come_from_field_names():
    assert label_of(("manager_id",)) == "Manager"
    assert label_of(("address_details", "postal_code")) == "Address details › Postal code"
    assert label_of(("note\u2028x",)) == "Note\\u2028x"


def test_nested_objects_are_opened_until_the_row_budget_then_kept_whole():
    rows, opened = flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3})
    assert rows == [(("a", "b"), 1), (("a", "c", "d"), 2), (("e",), 3)]
    assert [path for path, _ in opened] == [("a",), ("a", "c")]
    big = {f"k{i}": i for i in range(MAX_ROWS + 1)}
    rows, _ = flatten({"meta": big})
    assert rows == [(("meta",), big)]  # one complete JSON row: nothing lost


def test_before_values_come_from_the_record_or_are_unknown():
    record = {"city": "Berlin", "manager": {"id": "m1", "name": "Hans"}, "address": None, "team": None}
    assert before_of(record, ("city",)) == "Berlin"
    assert before_of(record, ("manager_id",)) == "m1"  # a reference read from its embedded object
    assert before_of(record, ("address", "city")) is None  # the parent is empty, so is the child
    assert before_of(record, ("phone",)) is UNKNOWN
    assert before_of(None, ("city",)) is UNKNOWN


def test_a_row_reads_before_to_after():
    assert FieldChange("a", "A", "1", "2").line() == "A: 1 → 2"
    assert FieldChange("a", "A", "1", "1").line() == "A: 1 (unchanged)"
    assert FieldChange("a", "A", None, "2").line() == "A: 2"


def test_a_change_summary_survives_the_store():
    change = ChangeSummary("Update it?", (FieldChange("a.b", "A › B", None, "x"),), "Update Thing", "Acme",
                           {"field": "id", "id": "t1", "noun": "thing", "label": "T"})
    assert ChangeSummary.from_dict(change.as_dict()) == change
    assert change.text().splitlines() == ["Update it?", "• Thing: T (id t1)", "• A › B: x"]


def test_the_desk_names_the_person_and_tells_the_console(tmp_path):
    heard: list = []
    desk = ApprovalDesk(ApprovalStore(tmp_path / "a.sqlite3"), clock=lambda: 1000.0,
                        on_decision=lambda approval, person: heard.append((approval.id, person.name)))
    approval = desk.store.create("hr", "t", args_hash({}), "Do it?", now=999.0)
    assert [a.id for a in desk.waiting()] == [approval.id]
    decided = desk.deny(approval.id, Person("dana", "console"))
    assert (decided.status, decided.decided_by, decided.decided_via) == ("denied", "dana", "console")
    assert heard == [(approval.id, "dana")]
    assert desk.waiting() == [] and [a.id for a in desk.everything()] == [approval.id]
    with pytest.raises(ValueError, match="already denied"):
        desk.approve(approval.id, Person("eve", "console"))


def test_an_agent_cannot_flood_the_people_deciding(tmp_path):
    store = ApprovalStore(tmp_path / "a.sqlite3", max_pending=2)
    store.create("hr", "t", args_hash({"n": 1}), "1?")
    store.create("hr", "t", args_hash({"n": 2}), "2?")
    assert store.create("hr", "t", args_hash({"n": 2}), "2?").summary == "2?"  # the same call: same approval
    with pytest.raises(TooManyPending):
        store.create("hr", "t", args_hash({"n": 3}), "3?")
    store.create("other", "t", args_hash({"n": 3}), "3?")  # another agent's queue is its own


async def test_a_flooding_agent_is_told_to_wait(make_runtime):
    runtime = make_runtime({"hr": HR_PERSON})
    runtime.approvals.max_pending = 1
    first, _ = requested_timeoff(runtime)
    second, _ = requested_timeoff(runtime, skip=1)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        await c.call_tool("remote_approve_timeoff", first)
        refused = await c.call_tool("remote_approve_timeoff", second)
    assert refused.is_error and refused.structured_content["reason"] == "too_many_pending"
    assert "already wait for a person" in refused.content[0].text
    assert len(runtime.approvals.list()) == 1 and writes(runtime, "remote") == []
