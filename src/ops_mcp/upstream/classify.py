"""What to do after an attempt: done, try again (after how long, and why), or give up.

``classify`` is the whole retry decision and has no side effects: the client's loop sleeps and
counts. Rules (see ``retry.py`` for why they are safe):

- 429: wait for the server's reset and repeat, even a write (it was refused before running), as
  long as the call's rate-limit allowance lasts;
- a keyed write still running upstream (409 with an in-progress code): wait and repeat;
- 5xx, timeouts, network failures, unreadable 2xx bodies: back off and repeat reads and keyed
  writes, up to ``max_attempts``;
- a token endpoint that could not be reached: back off and repeat (nothing was sent);
- anything else is the answer.
"""

from __future__ import annotations

import math
import random

from ..records import Frozen, set_fields
from . import errors as E
from .attempt import Answered, AttemptResult, NoSlot, NoToken, Unanswered
from .errors import ErrorContext, UpstreamError
from .outcome import Answer
from .retry import RETRYABLE_STATUSES, RetryPolicy


class Done(Frozen):
    __slots__ = ("answer",)
    answer: Answer

    def __init__(self, answer: Answer) -> None:
        set_fields(self, answer=answer)


class Retry(Frozen):
    __slots__ = ("delay", "reason", "rate_limited", "counted")
    delay: float
    reason: str
    rate_limited: bool  # a wait for the rate limit, not a backoff after a failure
    counted: bool  # counts towards the attempts a call may make for errors

    def __init__(self, delay: float, reason: str, rate_limited: bool = False, counted: bool = True) -> None:
        set_fields(self, delay=delay, reason=reason, rate_limited=rate_limited, counted=counted)


class Fail(Frozen):
    __slots__ = ("error",)
    error: UpstreamError

    def __init__(self, error: UpstreamError) -> None:
        set_fields(self, error=error)


Verdict = Done | Retry | Fail


class Rules(Frozen):
    """What decides a request's retries (fixed for the request and all its retries)."""

    __slots__ = ("policy", "rng", "ctx", "is_read", "can_retry", "keyed", "expects_json", "in_progress_codes")
    policy: RetryPolicy
    rng: random.Random
    ctx: ErrorContext
    is_read: bool
    can_retry: bool  # may the request be repeated after it may have reached the server?
    keyed: bool
    expects_json: bool
    in_progress_codes: frozenset[str]

    def __init__(
        self,
        policy: RetryPolicy,
        rng: random.Random,
        ctx: ErrorContext,
        is_read: bool,
        can_retry: bool,
        keyed: bool,
        expects_json: bool,
        in_progress_codes: frozenset[str],
    ) -> None:
        set_fields(self, policy=policy, rng=rng, ctx=ctx, is_read=is_read, can_retry=can_retry, keyed=keyed,
                   expects_json=expects_json, in_progress_codes=in_progress_codes)


def classify(result: AttemptResult, rules: Rules, failures: int, attempts: int, rate_wait_s: float) -> Verdict:
    """``failures``: earlier attempts that counted; ``attempts`` and ``rate_wait_s``: the call's totals."""
    if isinstance(result, NoSlot):
        return Fail(rate_limited(rules.ctx, math.ceil(result.retry_after_s)))
    if isinstance(result, NoToken):
        return _no_token(result, rules, failures + 1)
    if isinstance(result, Unanswered):
        if rules.can_retry and failures + 1 < rules.policy.max_attempts:
            return Retry(_backoff(rules, failures + 1, None), result.kind)
        ctx = rules.ctx.replace(attempts=attempts)
        return Fail(E.transport_error(result.kind, ctx, uncertain_write=not rules.is_read))
    return _answered(result, rules, failures + 1, rate_wait_s)


def _answered(result: Answered, rules: Rules, failures: int, rate_wait_s: float) -> Verdict:
    """``failures`` includes this attempt, should it count."""
    answer, status, policy = result.answer, result.answer.status, rules.policy
    if status == 429:
        retry_at = result.reading.retry_at or result.reading.reset_at or result.observed_at + 1.0
        wait = max(0.0, retry_at - result.observed_at)
        if rate_wait_s + wait > policy.max_rate_limit_wait_s:
            return Fail(rate_limited(rules.ctx, math.ceil(wait) or 1))
        return Retry(wait, "429", rate_limited=True, counted=False)
    if status == 409 and rules.keyed and _code(answer) in rules.in_progress_codes:
        if failures < policy.max_attempts + 2:
            # The server says when to ask again; no jitter needed, the key orders the requests.
            return Retry(_float(answer.headers.get("retry-after")) or 1.0, "request in progress")
        return Done(answer)
    if status in RETRYABLE_STATUSES:
        if rules.can_retry and failures < policy.max_attempts:
            return Retry(_backoff(rules, failures, _float(answer.headers.get("retry-after"))), str(status))
        return Done(answer)
    if 200 <= status < 300 and rules.expects_json and answer.content and answer.body is None:
        # Truncated or non-JSON 2xx: the request ran, but we cannot read its answer.
        if rules.can_retry and failures < policy.max_attempts:
            return Retry(_backoff(rules, failures, None), "unreadable body")
        return Fail(_unreadable(status, rules, failures))
    return Done(answer)


def _no_token(result: NoToken, rules: Rules, failures: int) -> Verdict:
    exc, ctx = result.error, rules.ctx
    if exc.transport and failures < rules.policy.max_attempts:
        return Retry(_backoff(rules, failures, None), "token endpoint")
    kind = E.NETWORK if exc.transport else exc.kind
    advice = "Try again later." if exc.transport else (
        exc.advice or "Tell the operator the OAuth client credentials need fixing.")
    message = f"ops-mcp could not obtain a token for {ctx.backend_title} ({ctx.connection_name}): {exc}. {advice}"
    return Fail(UpstreamError(kind, E.scrub(message, ctx.secrets), exc.status))


def _unreadable(status: int, rules: Rules, failures: int) -> UpstreamError:
    ctx = rules.ctx
    tries = f"{failures} attempt{'s' if failures != 1 else ''}"
    message = f"{ctx.backend_title} ({ctx.connection_name}) sent an unreadable answer ({status}) ({tries})."
    # The same guidance as any other failed call: reads can simply be repeated.
    message += " Try again later." if rules.is_read else E.write_uncertain_hint(ctx)
    details = {} if rules.is_read else {"outcome": "unknown"}
    return UpstreamError(E.BAD_RESPONSE, E.scrub(message, ctx.secrets), status, details=details)


def answer_error(answer: Answer, ctx: ErrorContext, attempts: int) -> UpstreamError:
    """The error for a final answer with a failure status."""
    retry_after = None
    if answer.status == 429:
        raw = answer.headers.get("retry-after")
        retry_after = float(raw) if raw and raw.replace(".", "", 1).isdigit() else None
    return E.map_http_error(answer.status, answer.body, ctx.replace(attempts=attempts), retry_after)


def rate_limited(ctx: ErrorContext, retry_in: int) -> UpstreamError:
    message = (
        f"{ctx.backend_title} ({ctx.connection_name}) rate limit is used up for now. "
        f"Retry in about {retry_in} seconds; nothing was sent."
    )
    return UpstreamError(E.RATE_LIMITED, message, 429, retry_after_s=float(retry_in))


def _backoff(rules: Rules, retry_number: int, retry_after: float | None) -> float:
    return rules.policy.backoff(retry_number, rules.rng, retry_after)


def _code(answer: Answer) -> object:
    return answer.body.get("code") if isinstance(answer.body, dict) else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
