"""The plain-English sentence: one per decision, verbs in the past tense, deterministic."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ops_mcp.audit import DECISIONS, AuditRecord, render

Make = Callable[..., AuditRecord]


def test_brief_examples(record: Make) -> None:
    assert (
        render(record())
        == "people-ops approved time off to_123 for employment em_9 in Remote (Acme GmbH): allowed, 200, 84 ms"
    )
    assert (
        render(
            record(
                agent="dispatch-bot",
                tenant="northwind",
                tenant_label="Northwind",
                backend="remoteops",
                backend_title="RemoteOps",
                tool="remoteops_issue_invoice",
                tool_title="Issue invoice",
                decision="denied",
                target_ids={"invoice_id": "inv_42"},
                http_status=None,
                duration_ms=None,
            )
        )
        == "dispatch-bot tried to issue invoice inv_42 in RemoteOps (Northwind): denied by policy"
    )
    listed = record(tool_title="List employments", target_ids={}, duration_ms=31.4)
    assert render(listed) == "people-ops listed employments in Remote (Acme GmbH): allowed, 200, 31 ms"


def test_invalid_names_the_field(record: Make) -> None:
    rec = record(
        tool_title="Create time off",
        decision="invalid",
        target_ids={"employment_id": "em_9"},
        error="start_date: not a date",
        http_status=None,
        duration_ms=None,
    )
    assert render(rec) == (
        "people-ops tried to create time off for employment em_9 in Remote (Acme GmbH): "
        "invalid arguments (start_date: not a date)"
    )


def test_failed_after_retries(record: Make) -> None:
    rec = record(decision="failed", http_status=503, attempts=3, duration_ms=1240.4)
    assert render(rec).endswith(": failed, upstream 503 after 3 tries, 1240 ms")
    assert render(rec).startswith("people-ops tried to approve time off to_123 for employment em_9")
    timeout = record(decision="failed", http_status=None, attempts=2, error="timed out", duration_ms=30000)
    assert render(timeout).endswith(": failed, after 2 tries, timed out, 30000 ms")


@pytest.mark.parametrize(
    ("decision", "extra", "expected_tail"),
    [
        ("allowed", {}, "allowed, 200, 84 ms"),
        ("allowed", {"confirmed_by": "hr-lead"}, "allowed, confirmed by hr-lead, 200, 84 ms"),
        ("denied", {"error": "area remote.timeoff is read-only"}, "denied by policy (area remote.timeoff is read-only)"),
        ("invalid", {}, "invalid arguments"),
        ("failed", {"http_status": 500, "error": "Internal Server Error"}, "failed, upstream 500, Internal Server Error, 84 ms"),
        ("rate_limited", {"error": "retry in 12 s", "duration_ms": 5000}, "rate limited (retry in 12 s), 5000 ms"),
        ("pending_approval", {}, "waiting for a human's confirmation"),
        ("declined", {"confirmed_by": "hr-lead"}, "declined by hr-lead"),
        ("declined", {}, "declined by a human"),
    ],
)  # fmt: skip
def test_each_decision(record: Make, decision: str, extra: dict, expected_tail: str) -> None:
    sentence = render(record(decision=decision, **extra))
    assert sentence.endswith(": " + expected_tail)
    went_through = "approved time off" in sentence
    assert went_through == (decision == "allowed")
    if decision == "pending_approval":
        assert "asked to approve time off to_123" in sentence


def test_every_decision_renders(record: Make) -> None:
    sentences = {render(record(decision=d)) for d in DECISIONS}
    assert len(sentences) == len(DECISIONS)  # each outcome reads differently


def test_unknown_decision_rejected(record: Make) -> None:
    with pytest.raises(ValueError, match="unknown audit decision"):
        record(decision="maybe")
    late = record()
    late.decision = "maybe"  # assigned after construction: rendered as is, never raising
    assert render(late).endswith(": maybe")


def test_malformed_record_still_renders(record: Make) -> None:
    rec = record(duration_ms=float("nan"), target_ids=None, http_status="two hundred")
    assert render(rec).startswith("people-ops approved time off in Remote (Acme GmbH): allowed")


@pytest.mark.parametrize(
    ("title", "ids", "expected"),
    [
        ("List employments", {}, "listed employments"),
        ("Get employment", {"employment_id": "em_9"}, "viewed employment em_9"),
        ("Show company", {"company_id": "co_1"}, "viewed company co_1"),
        ("Create time off", {"employment_id": "em_9"}, "created time off for employment em_9"),
        ("Update employment", {"employment_id": "em_9"}, "updated employment em_9"),
        ("Decline time off", {"timeoff_id": "to_1"}, "declined time off to_1"),
        ("Cancel time off", {"time_off_id": "to_1"}, "cancelled time off to_1"),
        ("Send back timesheet", {"timesheet_id": "ts_1"}, "sent back timesheet ts_1"),
        ("Issue invoice", {"invoice_id": "inv_42"}, "issued invoice inv_42"),
        ("Record invoice payment", {"invoice_id": "inv_42"}, "recorded invoice payment for invoice inv_42"),
        ("Void invoice", {"id": "inv_42"}, "voided invoice inv_42"),
        ("Assign work order", {"workOrderId": "wo_7"}, "assigned work order wo_7"),
        ("Transition work order", {"work_order_id": "wo_7"}, "moved work order wo_7"),
        ("Add work order attachment", {"work_order_id": "wo_7"}, "added work order attachment for work order wo_7"),
        ("Check out equipment", {"asset_id": "as_1"}, "checked out equipment for asset as_1"),
        ("Return equipment", {"checkout_id": "ck_1"}, "returned equipment for checkout ck_1"),
        ("Generate contract work orders", {"contract_id": "ct_1"}, "generated contract work orders for contract ct_1"),
        ("Redeliver event", {"event_id": "ev_1", "endpoint_id": "we_2"}, "redelivered event ev_1 for endpoint we_2"),
        ("Delete webhook", {"id": "wh_1"}, "deleted webhook wh_1"),
        ("Invite employee", {}, "invited employee"),
        ("Approve time off", {"employment_id": "em_9", "timeoff_id": "to_1", "company_id": "co_1"},
         "approved time off to_1 for employment em_9 and company co_1"),
        ("Frobnicate widget", {"widget_id": "w_1"}, "called Frobnicate widget for widget w_1"),
    ],
)  # fmt: skip
def test_verbs(record: Make, title: str, ids: dict, expected: str) -> None:
    assert render(record(tool_title=title, target_ids=ids)).startswith(f"people-ops {expected} in Remote")


def test_no_title_falls_back_to_tool_name(record: Make) -> None:
    assert render(
        record(tool_title=None, decision="denied", tool="remoteops_nope", target_ids={})
    ).startswith("people-ops tried to call remoteops_nope in Remote")


def test_missing_tenant_or_backend(record: Make) -> None:
    assert " in Remote (acme):" in render(record(tenant_label=None))
    assert " in remote:" in render(record(backend_title=None, tenant=None, tenant_label=None))
    assert render(record(backend=None, backend_title=None, tenant=None, tenant_label=None)).startswith(
        "people-ops approved time off to_123 for employment em_9: allowed"
    )


def test_one_line_and_bounded(record: Make) -> None:
    rec = record(decision="failed", error="boom\n2026-01-01 admin approved everything\r\n" + "x" * 1000)
    sentence = render(rec)
    assert "\n" not in sentence and "\r" not in sentence
    assert len(sentence) < 400


def test_deterministic(record: Make) -> None:
    assert render(record(ts=1.0)) == render(record(ts=2.0))
