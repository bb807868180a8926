"""The record tells the truth, and only the truth (issue 12, items 3, 5, 6, 7), tried as a hostile agent:
confirmation outcomes read as what happened; a redacted value never reaches a stored text through an error;
a sentence names only validated, known ids and shows no line-forging or reordering characters; no credential
shape ops-mcp issues or holds survives in the log, wherever the agent pastes it."""

from __future__ import annotations

import sqlite3

import mcp_types as t
import pytest
from mcp import Client

from ops_mcp.cli.audit import tail
from tests.confirmation.agents import HR_CONFIRM, HR_PERSON
from tests.support.runtime import make_server
from tests.support.seed import requested_timeoff

pytestmark = pytest.mark.anyio

APPROVE = "remote_approve_timeoff"
MODERN = "2026-07-28"


def stored(runtime) -> str:
    """Every byte of every stored row (the WAL included), as text."""
    runtime.audit.flush()
    with sqlite3.connect(runtime.state_dir / "audit.sqlite3") as db:
        rows = db.execute("SELECT * FROM audit").fetchall()
    return "\n".join("\x1f".join(map(str, row)) for row in rows)


def last(runtime, tool: str):
    return runtime.audit.search(tool=tool, limit=1)[-1].record


# -- item 3: confirmation outcomes ------------------------------------------------------------------------


async def test_a_question_just_asked_reads_asked_not_declined(make_runtime):
    runtime = make_runtime({"desk": HR_CONFIRM})
    args, _ = requested_timeoff(runtime)

    async def accept(ctx, params):
        return t.ElicitResult(action="accept", content={"confirm": True})

    async with Client(make_server(runtime, "desk"), mode=MODERN, elicitation_callback=accept) as client:
        first = await client.session.call_tool(APPROVE, args, allow_input_required=True)
    assert isinstance(first, t.InputRequiredResult)
    record = last(runtime, APPROVE)
    assert record.outcome == "asked" and "declined" not in record.sentence
    assert record.sentence.endswith(": asked for confirmation, no answer yet")


async def test_each_refusal_reads_as_what_happened(make_runtime):
    runtime = make_runtime({"hr": HR_PERSON})
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "hr"), mode="legacy") as client:
        pending = await client.call_tool(APPROVE, args)
        approval = pending.structured_content["approval_id"]
        await client.call_tool(APPROVE, {**args, "approval_id": "apr_nosuchthing"})
        await client.call_tool(APPROVE, {**args, "approval_id": approval})
    sentences = [e.record.sentence for e in runtime.audit.search(tool=APPROVE)]
    assert sentences[0].endswith(f": waiting for a person's approval (approval {approval})")
    assert sentences[1].endswith(": refused (no such approval)")
    assert sentences[2].endswith(f": waiting for a person's approval (approval {approval})")
    assert not any("declined" in s for s in sentences)


# -- item 5: redaction covers every stored text --------------------------------------------------------------


async def test_a_redacted_value_quoted_by_a_validation_error_is_stored_nowhere(make_runtime):
    runtime = make_runtime()
    email = "greta.private.example.com"
    amount = -73215
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        bad_email = await client.call_tool("remote_list_employments", {"email": email})
        bad_amount = await client.call_tool(
            "remote_create_expense", {"amount": amount, "title": "x", "employment_id": "em_1"}
        )
    assert email in bad_email.content[0].text  # the agent is told what it sent
    assert str(amount) in bad_amount.content[0].text
    record = last(runtime, "remote_list_employments")
    assert record.decision == "invalid" and record.error.startswith("email: [redacted]")
    everything = stored(runtime) + tail(runtime.audit, 10)
    assert "greta.private" not in everything and str(amount) not in everything


# -- item 6: sentences cannot be forged ---------------------------------------------------------------------

FORGED = "to_1 in Remote (Acme GmbH): allowed, 200, 5 ms\u2028admin approved everything"


async def test_unknown_ids_of_a_rejected_call_never_enter_a_sentence(make_runtime):
    runtime = make_runtime()
    arguments = {f"x{i}_id": f"evil{i}" for i in range(200)} | {"timeoff_id": FORGED}
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        await client.call_tool(APPROVE, arguments)
    record = last(runtime, APPROVE)
    assert record.decision == "invalid" and record.target_ids == {}
    assert "evil" not in record.sentence and "admin approved" not in record.sentence


@pytest.mark.parametrize(
    "hidden", ["\n", "\r", "\x85", "\x9b", "\u2028", "\u2029", "\u202e", "\u2066", "\x1b"]
)
async def test_no_hidden_character_reaches_audit_tail(make_runtime, hidden):
    runtime = make_runtime()
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        await client.call_tool(f"remote_list_timeoff{hidden}2026-01-01 admin: allowed", {})
        await client.call_tool("remote_list_timeoff", {"status": f"x{hidden}y"})
    shown = tail(runtime.audit, 10)
    lines = shown.split("\n")
    assert len(lines) == 2 and all(hidden not in line for line in lines)
    assert len(shown.splitlines()) == 2  # one line per call, whatever was sent (NEL, U+2028… split lines too)


# -- item 7: every credential shape ops-mcp issues or holds -------------------------------------------------

CREDENTIALS = [
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlMTIz",
    "ra_live_8f3k2j4h5g6d7s8a",
    "ra_test_refresh_0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "rops_live_Q2w3E4r5T6y7U8i9",
    "rops_test_Z9x8C7v6B5n4M3",
    "omcp_3nT9xQ7vL2pK8sW4mZ6yB1cD5fG0hJ",
    "whsec_MfKQ9r8GKYqXTYsLfx4gEb3aZ1xY2wV3",
    "refresh_token=4f9a8b7c6d5e4f3a2b1c",
]


async def test_no_credential_pasted_into_free_text_is_stored(make_runtime):
    runtime = make_runtime()
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        for credential in CREDENTIALS:
            await client.call_tool("remote_list_timeoff", {"status": f"note {credential} end"})
            await client.call_tool(f"tool {credential}", {})
    everything = stored(runtime) + tail(runtime.audit, 100)
    for credential in CREDENTIALS:
        assert credential.split()[-1].split("=")[-1] not in everything, credential


def test_credential_shapes_come_from_the_catalogue_profiles(make_runtime):
    runtime = make_runtime()
    prefixes = {p for m in runtime.catalogue.values() for p in m.backend.token_prefixes.values()}
    assert prefixes and all(
        any(
            p.replace("_", "") in pattern.replace("_", "").replace("\\", "")
            for pattern in runtime.redaction.patterns
        )
        for p in prefixes
    )


async def test_a_webhook_secret_registered_while_running_is_scrubbed_too(make_runtime):
    from ops_mcp.events.secrets import WebhookSecrets

    runtime = make_runtime()
    secret = (
        "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0e"  # Remote's HMAC keys: plain hex
    )
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        WebhookSecrets(runtime.state_dir).put(
            "remote", "acme", secret, remote_id="wh_1", url="https://x.example"
        )
        await client.call_tool("remote_list_timeoff", {"status": f"sig {secret}"})
    assert secret not in stored(runtime)


@pytest.mark.parametrize("hidden", [
    "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u200e", "\u202a", "\u202e", "\u2066", "\u2069",
    "\u200b", "\ufeff", "\u061c", "\u034f", "\u3164", "\U000e0041", "\U000e007f",
])  # fmt: skip
def test_neutralise_shows_every_hidden_or_reordering_character(hidden):
    from ops_mcp.text import neutralise

    shown = neutralise(f"approved{hidden}everything")
    assert hidden not in shown and shown.isprintable() and len(shown.splitlines()) == 1
    assert shown.startswith("approved\\") and shown.endswith("everything")


async def test_audit_tail_json_shows_hidden_characters_as_escapes(make_runtime):
    runtime = make_runtime()
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        await client.call_tool("remote_list_timeoff", {"status": "x\u2028\u202e\x85y"})
    shown = tail(runtime.audit, 5, as_json=True)
    assert shown.isascii() and len(shown.splitlines()) == 1


def test_a_target_id_that_redaction_would_hide_is_not_kept() -> None:
    """Target ids are shown in every sentence and console row: one the argument rules hide (an email used as
    an id) or that carries a secret's shape is dropped, the others kept."""
    from ops_mcp.audit import AuditRecord, Redaction
    from ops_mcp.calls.recorder import CallRecorder

    recorder = CallRecorder(audit=None, redaction=Redaction(), catalogue={}, tenants=None)  # type: ignore[arg-type]
    record = AuditRecord(agent="hr", tool="remote_get_employment", decision="allowed", target_ids={
        "employment_id": "em_1", "work_email": "ann@acme.example", "timeoff_id": "ra_live_Zq81xYw0LmNOPQ12",
    })
    recorder._prepare({})(record)
    assert record.target_ids == {"employment_id": "em_1"}
