"""Rate-limit budgets: pace requests so the upstream never has to answer 429.

One budget per ``budget_key`` (Remote: the company, shared by all its tokens; RemoteOps: the key),
shared by every session and task. A budget combines two rules:

- the back end's own window (fixed: at most ``limit`` per window, counted from the first request;
  sliding: at most ``limit`` in any ``window_s``), kept locally and corrected from the response
  headers, which are the truth when other clients spend the same budget;
- a token bucket (rate ``limit / window_s``, burst ``burst``) that spreads a heavy load evenly
  over the window, so under pressure every caller waits a little instead of some callers waiting
  for a whole window while the first burst used everything.

Waiting callers take turns (one at a time holds the lock while it sleeps for its slot), served
round-robin across agents by weight (``fairshare.py``), FIFO within one agent, so no task starves and no
agent's burst crowds out another's call. When several replicas spend one budget, a ``SharedWindow``
(``coordination/``: a sliding window in Redis) has the last word before a request is sent. All time arithmetic takes ``now`` explicitly so it can be unit tested,
and the waiting itself goes through an injectable ``sleep`` (tests run it on virtual time).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import anyio

from ..catalogue.models import RateLimitProfile
from ..records import Frozen, set_fields
from .fairshare import FairQueue

# Two observations of the server's reset time within this many seconds are the same window.
_SAME_WINDOW_TOLERANCE_S = 1.0

Sleep = Callable[[float], Awaitable[None]]


class SharedWindow(Protocol):
    """The budget as every replica spends it (``coordination.SharedBudgets``)."""

    async def take(self, key: str, limit: int, window_s: float) -> float:
        """0: a slot was taken for a request sent now; otherwise the seconds to wait before asking again."""
        ...


class BudgetExhausted(Exception):
    """The wait for a slot would exceed the caller's allowance."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limited, retry in {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class Ticket(Frozen):
    """One admitted request; handed back with the response headers."""

    __slots__ = ("generation",)
    generation: int  # of the fixed window it was admitted in

    def __init__(self, generation: int) -> None:
        set_fields(self, generation=generation)


class HeaderReading(Frozen):
    """What a response said about the budget (any part may be missing)."""

    __slots__ = ("limit", "remaining", "reset_at", "retry_at")
    limit: int | None
    remaining: int | None
    reset_at: float | None  # absolute time, same clock as the budget
    retry_at: float | None  # from Retry-After

    def __init__(self, limit: int | None = None, remaining: int | None = None, reset_at: float | None = None,
                 retry_at: float | None = None) -> None:
        set_fields(self, limit=limit, remaining=remaining, reset_at=reset_at, retry_at=retry_at)


def read_headers(
    headers: Mapping[str, str], profile: RateLimitProfile, now: float, wall_now: float
) -> HeaderReading:
    """Parse the profile's rate-limit headers; ``reset_unit`` says how the reset is written.

    ``now`` is the budget clock, ``wall_now`` the Unix time (for epoch-second resets).
    """
    names = {k.lower(): v.lower() for k, v in profile.headers.items()}

    def number(role: str) -> float | None:
        name = names.get(role)
        raw = headers.get(name) if name else None
        if raw is None:
            return None
        try:
            return float(str(raw).strip())
        except ValueError:
            return None

    limit = number("limit")
    count = number("count")
    remaining = number("remaining")
    if limit is None and count is not None and remaining is not None:
        limit = count + remaining  # Remote sends count + remaining, not the limit
    reset_at = None
    reset = number("reset")
    if reset is not None:
        if profile.reset_unit == "milliseconds":
            reset_at = now + max(0.0, reset) / 1000
        elif profile.reset_unit == "seconds":
            reset_at = now + max(0.0, reset)
        else:  # epoch seconds
            reset_at = now + max(0.0, reset - wall_now)
    retry_at = None
    retry_after = headers.get(names.get("retry_after", "retry-after"))
    if retry_after is not None:
        try:
            retry_at = now + max(0.0, float(retry_after))
        except ValueError:
            retry_at = None  # HTTP-date form: fall back to the reset header
    return HeaderReading(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_at=reset_at,
        retry_at=retry_at,
    )


class RateBudget:
    """One shared budget; ``acquire`` before a request, ``release`` with its response."""

    def __init__(
        self,
        key: str,
        limit: int,
        window: str = "fixed",
        window_s: float = 60.0,
        *,
        burst: int | None = None,
        clock: Callable[[], float],
        sleep: Sleep = anyio.sleep,
        weight_of: Callable[[str], int] = lambda agent: 1,
        shared: SharedWindow | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.key = key
        self.limit = limit
        self.window = window
        self.window_s = window_s
        self.rate = limit / window_s
        self.burst = max(1, burst if burst is not None else math.ceil(limit * 0.1))
        self.clock = clock
        self.sleep = sleep
        # fixed window
        self.window_end: float | None = None
        self.used = 0
        self.generation = 0
        # sliding window: send times (and phantom entries for usage seen only in headers)
        self.sent: deque[float] = deque()
        # token bucket
        self.tokens = float(self.burst)
        self.refilled_at: float | None = None
        # a 429 or an exhausted server budget blocks everyone until then
        self.blocked_until = 0.0
        self.in_flight = 0
        self.shared = shared
        self._lock = FairQueue(weight_of)

    # -- pure decision -------------------------------------------------------------------------
    def try_take(self, now: float) -> float:
        """Take a slot now (returns 0) or say how long to wait before asking again."""
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.window == "fixed":
            if self.window_end is None or now >= self.window_end:
                self.window_end = now + self.window_s
                self.used = 0
                self.generation += 1
            if self.used >= self.limit:
                return self.window_end - now
        else:
            while self.sent and self.sent[0] <= now - self.window_s:
                self.sent.popleft()
            if len(self.sent) >= self.limit:
                return self.sent[0] + self.window_s - now
        self._refill(now)
        if self.tokens < 1:
            return (1 - self.tokens) / self.rate
        self.tokens -= 1
        if self.window == "fixed":
            self.used += 1
        else:
            self.sent.append(now)
        self.in_flight += 1
        return 0.0

    def untake(self) -> None:
        """Give back the slot ``try_take`` just took (the shared window said no)."""
        self.tokens = min(float(self.burst), self.tokens + 1)
        if self.window == "fixed":
            self.used = max(0, self.used - 1)
        elif self.sent:
            self.sent.pop()
        self.in_flight = max(0, self.in_flight - 1)

    async def _take(self, now: float) -> float:
        """This process's rules, then (when replicas share the budget) the shared window's."""
        delay = self.try_take(now)
        if delay <= 0 and self.shared is not None:
            delay = await self.shared.take(self.key, self.limit, self.window_s)
            if delay > 0:
                self.untake()
        return delay

    def _refill(self, now: float) -> None:
        if self.refilled_at is not None and now > self.refilled_at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now if self.refilled_at is None else max(self.refilled_at, now)

    def observe(self, ticket: Ticket, reading: HeaderReading, status: int | None, now: float) -> None:
        """Correct the local model from a response (``status`` None: no response, e.g. network error)."""
        self.in_flight = max(0, self.in_flight - 1)
        if status == 429:
            until = reading.retry_at or reading.reset_at or now + min(self.window_s, 60.0)
            self.blocked_until = max(self.blocked_until, until)
            if self.window == "fixed":
                self.used = self.limit
                if reading.reset_at is not None:
                    self.window_end = reading.reset_at  # the server's word on when it resets
            return
        if reading.limit is not None and reading.limit < self.limit:
            self.limit = reading.limit
            self.rate = self.limit / self.window_s
        if reading.remaining is None:
            return
        # Requests of ours still in flight may not have been counted by the server yet; assume they
        # were not, so the estimate errs on the safe side.
        others = self.in_flight
        server_used = self.limit - reading.remaining + others
        if self.window == "fixed":
            reset_at = reading.reset_at
            if (
                reset_at is not None
                and self.window_end is not None
                and reset_at > self.window_end + _SAME_WINDOW_TOLERANCE_S
            ):
                # The server is in a later window than we thought (its window started later).
                self.window_end = reset_at
                self.used = server_used
                self.generation += 1
                return
            if ticket.generation != self.generation:
                return  # a response from a window that is over
            if reset_at is not None and self.window_end is not None:
                if reset_at >= self.window_end - _SAME_WINDOW_TOLERANCE_S:
                    self.window_end = max(self.window_end, reset_at)
                else:
                    self.window_end = reset_at  # the server resets sooner than we assumed
            self.used = max(self.used, server_used)
        else:
            while self.sent and self.sent[0] <= now - self.window_s:
                self.sent.popleft()
            missing = server_used - len(self.sent)
            # Usage we did not send (another client on the same key): remember it as sent now.
            for _ in range(max(0, min(missing, self.limit))):
                self.sent.append(now)
            if reading.remaining <= 0 and reading.reset_at is not None:
                self.blocked_until = max(self.blocked_until, reading.reset_at)

    # -- async API -----------------------------------------------------------------------------
    async def acquire(self, max_wait_s: float) -> tuple[Ticket, float]:
        """Wait (FIFO) for a slot; returns the ticket and the seconds waited.

        Raises BudgetExhausted when the wait would exceed ``max_wait_s``.
        """
        if self.shared is None and not self._lock.locked():
            # Fast path: nobody is queued and a slot is free now — take it without the lock and the
            # timeout scope (most calls, with a budget far from spent). Not when replicas share the
            # budget: the shared window must be asked, which awaits. The event loop runs one task
            # at a time, so nothing slips in between the check and the take; a free lock also means
            # no earlier caller is waiting (anyio hands a released lock straight to the next waiter).
            start = self.clock()
            if self.try_take(start) <= 0:
                return Ticket(self.generation), 0.0
        start = self.clock()
        with anyio.move_on_after(max(0.0, max_wait_s)) as scope:
            async with self._lock:
                slept = False
                while True:
                    now = self.clock()
                    delay = await self._take(now)
                    if delay <= 0:
                        # Time spent queueing behind a sleeping caller counts; lock overhead does not.
                        waited = max(0.0, now - start) if slept or now - start > 0.01 else 0.0
                        return Ticket(self.generation), waited
                    if now - start + delay > max_wait_s:
                        raise BudgetExhausted(delay)
                    await self.sleep(delay)
                    slept = True
        # The lock queue itself took longer than the allowance.
        assert scope.cancelled_caught
        raise BudgetExhausted(self.estimate_wait(self.clock()))

    def estimate_wait(self, now: float) -> float:
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.window == "fixed" and self.window_end is not None and self.used >= self.limit:
            return max(0.0, self.window_end - now)
        if self.window == "sliding" and len(self.sent) >= self.limit:
            return max(0.0, self.sent[0] + self.window_s - now)
        return max(1.0, self.in_flight / self.rate)


class BudgetRegistry:
    """Budgets by key, created on first use with the limit of the first connection that uses it."""

    def __init__(
        self,
        clock: Callable[[], float],
        window_s: float = 60.0,
        burst_fraction: float = 0.1,
        *,
        sleep: Sleep = anyio.sleep,
        weights: Mapping[str, int] | None = None,
        shared: SharedWindow | None = None,
    ) -> None:
        self._budgets: dict[str, RateBudget] = {}
        self.weights = dict(weights or {})  # agent -> its share when agents compete (default 1)
        self.shared = shared
        self.clock = clock
        self.sleep = sleep
        self.window_s = window_s
        self.burst_fraction = burst_fraction

    def all(self) -> dict[str, RateBudget]:
        """Every budget made so far, by key (a copy: readers such as the console's live view)."""
        return dict(self._budgets)

    def get(self, key: str, profile: RateLimitProfile, per_minute: int | None) -> RateBudget:
        budget = self._budgets.get(key)
        if budget is None:
            limit = per_minute or profile.per_minute
            budget = RateBudget(
                key,
                limit,
                profile.window,
                self.window_s,
                # Small budgets (RemoteOps: 60/min) still allow a few calls at once.
                burst=max(math.ceil(limit * self.burst_fraction), min(limit, 10)),
                clock=self.clock,
                sleep=self.sleep,
                weight_of=lambda agent: self.weights.get(agent, 1),
                shared=self.shared,
            )
            self._budgets[key] = budget
        return budget

