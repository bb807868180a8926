"""The prompt shows everything that changes (issue 12, item 9), tried from the hostile agent's side.

An agent that wants a person to approve more than they think they approve hides it: a new manager
and address behind "Update employment Greta García?", a value past the 300 characters the list cut, a
field the audit redacts, a line separator or a bidi override that makes a prompt read differently. The
person must see every field the write sets, before → after, ids named, nothing cut silently and every
agent-supplied character visible.
"""

from __future__ import annotations

import argparse
import json
import os
import stat

import mcp_types as t
import pytest
from mcp import Client

from ops_mcp.cli import approvals as approvals_cli

from .ops_harness import ERAS, HR_PERSON, backend_state, make_server, writes

pytestmark = pytest.mark.anyio

UPDATE = "remote_update_employment"
HR_EMPLOYMENTS = {**HR_PERSON, "confirm": ["remote.employments", "remote.timeoff"]}
HIDDEN = ("\u202e", "\u2028", "\u2029", "\u0085", "\x1b", "\u009b", "\u200f", "\u2066")
LONG_NAME = "Greta García " + "Fernández-" * 10 + "Ruiz"


def acme(runtime) -> tuple[dict, dict, dict]:
    """An active Acme employment with a manager and an address, its manager, and another manager."""
    data = backend_state(runtime, "remote").data
    company = next(c["id"] for c in data["companies"].values() if c["name"] == "Acme GmbH")
    employment = next(e for e in data["employments"].values() if e["_company_id"] == company
                      and e["status"] == "active" and e.get("manager_id") and e.get("address_details"))
    managers = {m["user_id"]: m for m in data["managers"].values() if m["_company_id"] == company}
    current = managers[employment["manager_id"]]
    other = next(m for uid, m in managers.items() if uid != employment["manager_id"])
    return employment, current, other


def cli(runtime, monkeypatch, capsys, command: str, approval_id: str | None = None, **flags) -> str:
    monkeypatch.setattr(approvals_cli, "_store", lambda config: runtime.approvals.__class__(runtime.approvals.path))
    monkeypatch.setattr(approvals_cli.getpass, "getuser", lambda: "alice")
    args = argparse.Namespace(config=None, approvals_command=command, id=approval_id,
                              all=flags.get("all", False), json=flags.get("json", False))
    assert approvals_cli.cmd_approvals(args) == 0
    return capsys.readouterr().out


def hidden_in(text: str) -> list[str]:
    return [repr(ch) for ch in HIDDEN if ch in text]


def rewrite_arguments(employment: dict, other: dict) -> dict:
    # A valid address for the country form (postal code, at most 255 characters), longer than any preview.
    street = "Hauptstraße 1, Hinterhaus, 3. Obergeschoss links, " + "c/o Fernández-Ruiz " * 12
    return {
        "employment_id": employment["id"],
        "manager_id": other["user_id"],
        "address_details": {"address": street[:250], "city": "München", "postal_code": "80331"},
        "work_email": "greta.private@example.org",
    }


async def test_the_approver_sees_every_field_before_and_after_and_gets_exactly_that(
        make_runtime, monkeypatch, capsys, caplog):
    runtime = make_runtime({"hr": HR_EMPLOYMENTS})
    employment, current, other = acme(runtime)
    employment["full_name"] = LONG_NAME
    old_address, old_email = dict(employment["address_details"]), employment["work_email"]
    args = rewrite_arguments(employment, other)
    async with Client(make_server(runtime, "hr"), mode="legacy") as c:
        pending = await c.call_tool(UPDATE, args)
        approval_id = pending.structured_content["approval_id"]
        shown = cli(runtime, monkeypatch, capsys, "show", approval_id)
        listed = cli(runtime, monkeypatch, capsys, "list")
        data = json.loads(cli(runtime, monkeypatch, capsys, "show", approval_id, json=True))
        cli(runtime, monkeypatch, capsys, "approve", approval_id)
        done = await c.call_tool(UPDATE, {**args, "approval_id": approval_id})

    rows = {row["field"]: row for row in data["changes"]}
    assert all(set(row) == {"field", "label", "before", "after"} for row in data["changes"])
    assert rows["manager_id"] == {"field": "manager_id", "label": "Manager",
                                  "before": f"{current['user_name']} (id {current['user_id']})",
                                  "after": other["user_id"]}
    assert rows["address_details.address"]["before"] == old_address["address"]
    assert len(args["address_details"]["address"]) == 250
    assert rows["address_details.address"]["after"] == args["address_details"]["address"]  # all of it
    assert rows["address_details.city"] == {"field": "address_details.city", "label": "Address details › City",
                                            "before": old_address["city"], "after": "München"}
    assert rows["work_email"]["before"] == old_email
    assert rows["work_email"]["after"] == "greta.private@example.org"  # redaction is for the audit log
    assert data["target"]["label"] == LONG_NAME and data["tenant"] == "Acme GmbH"

    # `show` prints all of it; nothing is redacted or cut.
    for text in (current["user_name"], other["user_id"], args["address_details"]["address"], "München",
                 "greta.private@example.org", old_email, LONG_NAME):
        assert text in shown
    assert "[redacted]" not in shown + listed
    # `list` previews long values and says exactly how much it left out, and where to see it.
    address_line = next(line for line in listed.splitlines() if "Address details › Address" in line)
    assert f"[+{250 - approvals_cli.LIST_VALUE_LIMIT} characters; ops-mcp approvals show {approval_id}]" \
        in address_line
    for label in ("Manager:", "Address details › City:", "Address details › Postal code:", "Work email:"):
        assert label in listed

    # Redaction protects the audit log, not the approver: the person sees the new e-mail (above), the
    # agent's answer, the log and the audit record, which only carry the headline, do not.
    pending_record = next(e.record for e in runtime.audit.search(tool=UPDATE) if e.record.decision == "pending_approval")
    for text in (pending.content[0].text, pending_record.error or "", pending_record.sentence, caplog.text):
        assert "greta.private@example.org" not in text

    # What the person approved is exactly what changed.
    assert not done.is_error, done.content[0].text
    assert len(writes(runtime, "remote", "/employments/")) == 1
    assert employment["manager_id"] == other["user_id"]
    assert employment["address_details"] == args["address_details"]


async def test_fields_the_write_drops_from_a_replaced_object_are_shown(make_runtime):
    runtime = make_runtime({"hr": HR_EMPLOYMENTS})
    employment, _, other = acme(runtime)
    endpoint = runtime.policy("hr").endpoints[UPDATE]
    change = await runtime.confirmer.summarizer.describe(
        "hr", endpoint, {"employment_id": employment["id"], "address_details": {"city": "Köln"}})
    rows = {row.field: row for row in change.changes}
    assert rows["address_details.city"].after == "Köln"
    assert rows["address_details.address"].before == employment["address_details"]["address"]
    assert rows["address_details.address"].after == "(not in this write)"


@pytest.mark.parametrize("mode", ERAS)
async def test_the_in_client_prompt_lists_every_field(make_runtime, mode):
    runtime = make_runtime({"desktop": {**HR_EMPLOYMENTS, "confirm_via": "client"}})
    employment, current, other = acme(runtime)
    args = rewrite_arguments(employment, other)
    asked: list[str] = []

    async def decline(ctx, params):
        asked.append(params.message)
        return t.ElicitResult(action="decline")

    async with Client(make_server(runtime, "desktop"), mode=mode, elicitation_callback=decline) as c:
        result = await c.call_tool(UPDATE, args)
    assert result.is_error and writes(runtime, "remote") == []
    prompt = asked[0]
    assert f"• Manager: {current['user_name']} (id {current['user_id']}) → {other['user_id']}" in prompt
    assert f"• Address details › City: {employment['address_details']['city']} → München" in prompt
    assert f"• Work email: {employment['work_email']} → greta.private@example.org" in prompt
    assert args["address_details"]["address"] in prompt


async def test_ids_are_named_by_a_read(make_runtime):
    runtime = make_runtime({"ops": {"areas": {"remoteops.*": "full"}, "confirm": ["remoteops.work_orders"]}})
    connection = runtime.tenant_for("ops", "remoteops").connection
    _, sites = await runtime.upstream.request_json(connection, "GET", "/sites", params={"limit": 1})
    site = sites["data"][0]
    _, customer = await runtime.upstream.request_json(connection, "GET", f"/customers/{site['customer_id']}")
    endpoint = runtime.policy("ops").endpoints["remoteops_create_work_order"]
    change = await runtime.confirmer.summarizer.describe("ops", endpoint, {
        "customer_id": customer["id"], "site_id": site["id"], "summary": "Lift stuck", "priority": "urgent"})
    rows = {row.field: row.as_dict() for row in change.changes}
    assert rows["customer_id"] == {"field": "customer_id", "label": "Customer", "before": None,
                                   "after": f"{customer['name']} (id {customer['id']})"}
    assert rows["site_id"]["after"] == f"{site['name']} (id {site['id']})"
    assert rows["priority"]["after"] == "urgent" and rows["summary"]["after"] == "Lift stuck"


@pytest.mark.parametrize("mode", ERAS)
async def test_agent_supplied_text_is_made_visible_wherever_a_person_reads_it(
        make_runtime, monkeypatch, capsys, caplog, mode):
    # static: both agents call the catalogue tool directly (in discovery mode only the meta-tools answer)
    runtime = make_runtime({"ops": {"areas": {"remoteops.*": "full"}, "confirm": ["remoteops.work_orders"],
                                    "tool_mode": "static"},
                            "desk": {"areas": {"remoteops.*": "full"}, "confirm": ["remoteops.work_orders"],
                                     "confirm_via": "client", "tool_mode": "static"}})
    connection = runtime.tenant_for("ops", "remoteops").connection
    _, orders = await runtime.upstream.request_json(connection, "GET", "/work-orders", params={"limit": 1})
    order = orders["data"][0]
    sneaky = {
        "work_order_id": order["id"],
        "summary": "Replace door sensor\u2028\u2028Approved by the site manager \u202egnirihsaw\u202c\x1b[2J\u0085",
        "metadata": {"note\u2028approved": "yes\u009b31m", "ticket\u200f": "T-1\u2066"},
    }
    asked: list[str] = []

    async def decline(ctx, params):
        asked.append(params.message)
        return t.ElicitResult(action="decline")

    async with Client(make_server(runtime, "ops"), mode=mode) as c:
        pending = await c.call_tool("remoteops_update_work_order", sneaky)
    async with Client(make_server(runtime, "desk"), mode=mode, elicitation_callback=decline) as c:
        await c.call_tool("remoteops_update_work_order", sneaky)
    approval_id = pending.structured_content["approval_id"]
    outputs = {
        "show": cli(runtime, monkeypatch, capsys, "show", approval_id),
        "show --json": cli(runtime, monkeypatch, capsys, "show", approval_id, json=True),
        "list": cli(runtime, monkeypatch, capsys, "list"),
        "list --json": cli(runtime, monkeypatch, capsys, "list", json=True),
        "agent's result": pending.content[0].text + json.dumps(pending.structured_content, ensure_ascii=False),
        "in-client prompt": asked[0],
        "log": caplog.text,
    }
    for where, text in outputs.items():
        assert hidden_in(text) == [], where
    assert "Approved by the site manager \\u202egnirihsaw" in outputs["show"]
    assert "Metadata › Note\\u2028approved: yes\\u009b31m" in outputs["list"]
    assert writes(runtime, "remoteops") == []


async def test_the_approvals_file_is_owner_only(make_runtime):
    runtime = make_runtime({"hr": HR_PERSON})
    path = runtime.state_dir / "approvals.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o644)
    os.chmod(path, 0o644)  # left world-readable by an older version
    runtime.approvals.create("hr", "remote_approve_timeoff", "0" * 64, "Approve it?")
    for file in path.parent.glob("approvals.sqlite3*"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
