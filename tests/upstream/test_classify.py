"""The retry decision, one rule per test: what an attempt's result means for the call."""

from __future__ import annotations

import random

import httpx
import pytest

from ops_mcp.upstream.attempt import Answered, NoSlot, NoToken, Unanswered
from ops_mcp.upstream.classify import Done, Fail, Retry, Rules, classify
from ops_mcp.upstream.errors import ErrorContext
from ops_mcp.upstream.outcome import Answer
from ops_mcp.upstream.ratelimit import HeaderReading
from ops_mcp.upstream.retry import RetryPolicy
from ops_mcp.upstream.tokens import AuthError

CTX = ErrorContext("acme", "RemoteOps", thing="customer", list_tool="remoteops_list_customers")
POLICY = RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=4.0, max_rate_limit_wait_s=20.0)


def rules(*, read: bool = True, keyed: bool = False, expects_json: bool = True) -> Rules:
    return Rules(
        POLICY, random.Random(3), CTX, is_read=read, can_retry=read or keyed, keyed=keyed,
        expects_json=expects_json, in_progress_codes=frozenset({"idempotency-key-in-use"}),
    )


def answered(status: int, body: object = None, headers: dict[str, str] | None = None, *,
             content: bytes | None = None, reading: HeaderReading = HeaderReading(), at: float = 100.0) -> Answered:
    raw = content if content is not None else (b"{}" if body is not None else b"")
    return Answered(Answer(status, httpx.Headers(headers or {}), raw, body), reading, at)


def test_a_success_is_done():
    verdict = classify(answered(200, {"id": "cus_1"}), rules(), 0, 1, 0.0)
    assert isinstance(verdict, Done) and verdict.answer.body == {"id": "cus_1"}


def test_a_429_waits_for_the_servers_reset_and_does_not_count_as_a_failure():
    verdict = classify(answered(429, {}, reading=HeaderReading(retry_at=107.0)), rules(read=False), 3, 4, 5.0)
    assert verdict == Retry(7.0, "429", rate_limited=True, counted=False)


def test_a_429_beyond_the_calls_allowance_says_when_to_retry_and_that_nothing_was_sent():
    verdict = classify(answered(429, {}, reading=HeaderReading(reset_at=112.2)), rules(), 0, 1, 10.0)
    assert isinstance(verdict, Fail) and verdict.error.kind == "rate_limited"
    assert verdict.error.retry_after_s == 13.0 and "nothing was sent" in verdict.error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_failures_on_reads_back_off_until_the_last_attempt(status):
    first = classify(answered(status, {}), rules(), 0, 1, 0.0)
    assert isinstance(first, Retry) and first.reason == str(status) and 0 <= first.delay <= 0.5
    last = classify(answered(status, {}), rules(), 3, 4, 0.0)
    assert isinstance(last, Done) and last.answer.status == status


def test_retry_after_on_a_5xx_is_a_floor_within_the_policys_cap():
    verdict = classify(answered(503, {}, {"retry-after": "2"}), rules(), 0, 1, 0.0)
    assert isinstance(verdict, Retry) and verdict.delay >= 2.0


def test_a_write_without_a_key_is_never_repeated_after_it_may_have_run():
    assert isinstance(classify(answered(500, {}), rules(read=False), 0, 1, 0.0), Done)
    failed = classify(Unanswered("network"), rules(read=False), 0, 1, 0.0)
    assert isinstance(failed, Fail) and failed.error.details == {"outcome": "unknown"}
    assert "remoteops_list_customers" in failed.error.message


def test_a_keyed_write_is_repeated_after_a_dropped_connection():
    verdict = classify(Unanswered("network"), rules(read=False, keyed=True), 0, 1, 0.0)
    assert isinstance(verdict, Retry) and verdict.reason == "network" and verdict.counted


def test_timeouts_report_every_attempt_the_call_made():
    verdict = classify(Unanswered("timeout"), rules(), 3, 4, 0.0)
    assert isinstance(verdict, Fail) and verdict.error.kind == "timeout"
    assert "(4 attempts)" in verdict.error.message and "Try again later" in verdict.error.message


def test_a_keyed_write_still_running_upstream_is_waited_for_as_the_server_asks():
    body = {"code": "idempotency-key-in-use"}
    verdict = classify(answered(409, body, {"retry-after": "3"}), rules(read=False, keyed=True), 0, 1, 0.0)
    assert verdict == Retry(3.0, "request in progress")
    assert classify(answered(409, body), rules(read=False, keyed=True), 0, 1, 0.0) == Retry(1.0, "request in progress")
    # Two more waits than errors are allowed, then the 409 is the answer.
    assert isinstance(classify(answered(409, body), rules(read=False, keyed=True), 5, 6, 0.0), Done)
    # Without a key there is no earlier request to wait for: the conflict is the answer.
    assert isinstance(classify(answered(409, body), rules(read=False), 0, 1, 0.0), Done)


def test_an_unreadable_2xx_is_retried_then_reported_with_the_write_uncertain():
    truncated = answered(200, None, {"content-type": "application/json"}, content=b'{"id": "cus_')
    assert isinstance(classify(truncated, rules(read=False, keyed=True), 0, 1, 0.0), Retry)
    verdict = classify(truncated, rules(read=False, keyed=True), 3, 4, 0.0)
    assert isinstance(verdict, Fail) and verdict.error.kind == "bad_response"
    assert "(4 attempts)" in verdict.error.message and verdict.error.details == {"outcome": "unknown"}


def test_a_binary_answer_is_not_unreadable():
    pdf = answered(200, None, {"content-type": "application/pdf"}, content=b"%PDF-1.7")
    assert isinstance(classify(pdf, rules(expects_json=False), 0, 1, 0.0), Done)


def test_an_unreachable_token_endpoint_is_retried_even_for_writes():
    verdict = classify(NoToken(AuthError("the token endpoint could not be reached", transport=True)),
                       rules(read=False), 0, 1, 0.0)
    assert isinstance(verdict, Retry) and verdict.reason == "token endpoint"


def test_refused_client_credentials_tell_the_operator_without_retrying():
    error = AuthError("the token endpoint refused the client credentials (invalid_client)", 401)
    verdict = classify(NoToken(error), rules(), 0, 1, 0.0)
    assert isinstance(verdict, Fail) and verdict.error.kind == "unauthorized" and verdict.error.status == 401
    assert verdict.error.message == (
        "ops-mcp could not obtain a token for RemoteOps (acme): the token endpoint refused the client "
        "credentials (invalid_client). Tell the operator the OAuth client credentials need fixing."
    )


def test_no_budget_slot_fails_with_the_wait_rounded_up():
    verdict = classify(NoSlot(12.2), rules(), 0, 0, 0.0)
    assert isinstance(verdict, Fail) and verdict.error.retry_after_s == 13.0 and verdict.error.status == 429
