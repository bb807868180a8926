"""One attempt at a request: a rate-budget slot → send (through the auth flow) → observe → events.

An attempt never decides whether to try again (``classify.py`` does) and never sleeps except
while waiting for its budget slot. It reports what happened as an ``AttemptResult``:

- ``Answered``: the back end answered (any status), with what its rate-limit headers said;
- ``Unanswered``: no answer (timeout or network failure);
- ``NoToken``: no token could be had, so nothing was sent;
- ``NoSlot``: the budget would make the call wait longer than its allowance; nothing was sent.

A 401 answered by a token refresh (``auth.py``) is two legs of one attempt: each leg takes its own
budget slot, counts as an attempt of the call, and is observed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import anyio
import httpx

from ..records import Frozen, set_fields
from . import errors as E
from .auth import BearerAuth
from .connection import Connection
from .errors import parse_body
from .events import RATE_LIMIT_WAIT, REQUEST, RETRY, UPSTREAM_429, UpstreamEvent
from .facts import BackendFacts
from .outcome import Answer, CallState
from .pool import ClientPool
from .ratelimit import BudgetExhausted, BudgetRegistry, HeaderReading, Ticket, read_headers
from .request import PreparedRequest
from .tokens import AuthError, TokenProvider, credential_for


class Answered(Frozen):
    __slots__ = ("answer", "reading", "observed_at")
    answer: Answer
    reading: HeaderReading
    observed_at: float  # clock time the answer was observed

    def __init__(self, answer: Answer, reading: HeaderReading, observed_at: float) -> None:
        set_fields(self, answer=answer, reading=reading, observed_at=observed_at)


class Unanswered(Frozen):
    __slots__ = ("kind",)
    kind: str  # errors.TIMEOUT or errors.NETWORK

    def __init__(self, kind: str) -> None:
        set_fields(self, kind=kind)


class NoToken(Frozen):
    __slots__ = ("error",)
    error: AuthError

    def __init__(self, error: AuthError) -> None:
        set_fields(self, error=error)


class NoSlot(Frozen):
    __slots__ = ("retry_after_s",)
    retry_after_s: float

    def __init__(self, retry_after_s: float) -> None:
        set_fields(self, retry_after_s=retry_after_s)


AttemptResult = Answered | Unanswered | NoToken | NoSlot


class Wiring(Frozen):
    """What every attempt of a client shares."""

    __slots__ = ("pool", "tokens", "budgets", "clock", "emit", "max_rate_wait_s")
    pool: ClientPool
    tokens: TokenProvider
    budgets: BudgetRegistry
    clock: Callable[[], float]  # Unix time; also read for epoch-second rate-limit resets
    emit: Callable[[UpstreamEvent], None]
    max_rate_wait_s: float  # per call, across its attempts and pages

    def __init__(
        self,
        pool: ClientPool,
        tokens: TokenProvider,
        budgets: BudgetRegistry,
        clock: Callable[[], float],
        emit: Callable[[UpstreamEvent], None],
        max_rate_wait_s: float,
    ) -> None:
        set_fields(self, pool=pool, tokens=tokens, budgets=budgets, clock=clock, emit=emit,
                   max_rate_wait_s=max_rate_wait_s)


class Attempts:
    """The attempts of one request (the first and its retries), made one at a time by ``run``."""

    def __init__(
        self,
        wiring: Wiring,
        connection: Connection,
        backend: BackendFacts,
        prepared: PreparedRequest,
        *,
        tool: str | None,
        token_kind: str | None = None,
        key: str | None,
        expects_json: bool,
        state: CallState,
    ) -> None:
        self._wiring = wiring
        self._connection = connection
        self._backend = backend
        self._prepared = prepared
        self._tool = tool
        self._expects_json = expects_json
        self._state = state
        self._headers = {"accept": "application/json" if expects_json else "*/*"}
        if key is not None:
            self._headers["idempotency-key"] = key
        profile = backend.profile
        self._budget = wiring.budgets.get(connection.effective_budget_key, profile.rate_limit, connection.per_minute)
        self._auth = BearerAuth(wiring.tokens, connection, self, token_kind)  # one refresh for all the attempts
        self._token_kind = token_kind
        self._ticket: Ticket | None = None
        self._deadline: anyio.CancelScope | None = None
        self._sent_at = 0.0

    async def run(self) -> AttemptResult:
        try:
            # A connection that cannot serve this kind of operation at all is refused before the budget: the
            # call would wait for a slot (and hold up the tenant's other calls) only to send nothing.
            credential_for(self._connection, self._token_kind)
            await self._take_slot()
            response = await self._send()
        except BudgetExhausted as exc:  # before the first leg, or before a resend after a 401
            return NoSlot(exc.retry_after_s)
        except AuthError as exc:  # nothing was sent on this leg
            self._release()
            self._state.attempts += 1
            return NoToken(exc)
        except (httpx.TransportError, TimeoutError) as exc:
            self._release()
            kind = E.TIMEOUT if isinstance(exc, TimeoutError | httpx.TimeoutException) else E.NETWORK
            self._event(REQUEST, duration_ms=self._leg_ms(), detail=kind)
            return Unanswered(kind)
        except BaseException:  # cancelled (the agent hung up) or failed: the slot goes back either way
            self._release()
            raise
        return self._observe(response)

    async def _send(self) -> httpx.Response:
        # The deadline is set as each leg leaves (``sending``): waiting for a token or a budget slot
        # is not part of it. fail_after also bounds in-process transports, which ignore httpx's timeouts.
        with anyio.fail_after(None) as self._deadline:
            return await self._wiring.pool.send(self._connection, self._prepared, self._headers, self._auth)
        # Only reached when the deadline passed just as a 401 leg ended, and was lifted for the resend.
        raise TimeoutError

    # -- the auth flow's legs ------------------------------------------------------------------------
    def sending(self) -> None:
        self._state.attempts += 1
        self._sent_at = time.perf_counter()
        if self._deadline is not None:
            self._deadline.deadline = anyio.current_time() + self._connection.timeout

    async def refused(self, response: httpx.Response) -> None:
        if self._deadline is not None:
            self._deadline.deadline = math.inf
        self._observe(response)
        self._event(RETRY, status=401, detail="token refresh")
        await self._take_slot()

    # -- steps ---------------------------------------------------------------------------------------
    async def _take_slot(self) -> None:
        allowance = self._wiring.max_rate_wait_s - self._state.rate_wait_s
        self._ticket, waited = await self._budget.acquire(allowance)
        if waited > 0:
            self._state.rate_wait_s += waited
            self._event(RATE_LIMIT_WAIT, wait_s=waited)

    def _observe(self, response: httpx.Response) -> Answered:
        """Correct the budget from the headers, note the request id, report the request."""
        now = self._wiring.clock()
        headers, status = response.headers, response.status_code
        reading = read_headers(headers, self._backend.profile.rate_limit, now, now)
        if self._ticket is not None:
            self._budget.observe(self._ticket, reading, status, now)
            self._ticket = None
        self._state.request_id = next(
            (headers[h] for h in self._backend.profile.request_id_headers if h in headers), self._state.request_id
        )
        self._event(REQUEST, status=status, duration_ms=self._leg_ms())
        if status == 429:
            self._event(UPSTREAM_429, status=429)
        content = response.content
        content_type = headers.get("content-type", "")
        is_json_type = "json" in content_type or not content_type
        body = parse_body(content) if (is_json_type or self._expects_json) else None
        return Answered(Answer(status, headers, content, body), reading, now)

    def _release(self) -> None:
        """Hand the slot back without an answer."""
        if self._ticket is not None:
            self._budget.observe(self._ticket, HeaderReading(), None, self._wiring.clock())
            self._ticket = None

    def _event(
        self, kind: str, *, status: int | None = None, wait_s: float = 0.0, duration_ms: float = 0.0,
        detail: str | None = None,
    ) -> None:
        connection = self._connection
        self._wiring.emit(
            UpstreamEvent(kind, connection.backend, connection.name, self._tool, status, wait_s, duration_ms, detail)
        )

    def _leg_ms(self) -> float:
        return round((time.perf_counter() - self._sent_at) * 1000, 2)
