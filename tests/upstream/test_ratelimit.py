"""Budget arithmetic with explicit times: pacing, windows, header sync, 429 blocks."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from ops_mcp.catalogue.models import RateLimitProfile
from ops_mcp.upstream.ratelimit import BudgetExhausted, HeaderReading, RateBudget, Ticket, read_headers

from .virtual_time import START, VirtualTime

REMOTE = RateLimitProfile(
    scope="company",
    per_minute=300,
    window="fixed",
    reset_unit="milliseconds",
    headers={
        "count": "x-ratelimit-count",
        "remaining": "x-ratelimit-remaining",
        "reset": "x-ratelimit-reset",
    },
)
REMOTEOPS = RateLimitProfile(
    scope="key",
    per_minute=60,
    window="sliding",
    reset_unit="epoch_seconds",
    headers={
        "limit": "x-ratelimit-limit",
        "remaining": "x-ratelimit-remaining",
        "reset": "x-ratelimit-reset",
        "retry_after": "retry-after",
    },
)


def drain(budget: RateBudget, start: float, until: float, step: float = 0.001) -> list[float]:
    """Simulate callers taking every slot as soon as it is offered; returns the send times."""
    sent, now = [], start
    while now < until:
        delay = budget.try_take(now)
        if delay == 0:
            sent.append(now)
            budget.in_flight = 0
        else:
            now += max(delay, step)
    return sent


def test_fixed_window_never_exceeds_limit_and_uses_it():
    budget = RateBudget("acme", 300, "fixed", 60.0, burst=30, clock=lambda: 0.0)
    sent = drain(budget, 0.0, 120.0)
    first = [t for t in sent if t < 60.0]
    second = [t for t in sent if 60.0 <= t < 120.0]
    assert len(first) == 300 and len(second) == 300  # the whole budget, never more
    assert 30 <= sum(1 for t in sent if t < 1.0) <= 35  # the burst, then pacing at 5/s
    assert max(b - a for a, b in zip(sent, sent[1:], strict=False)) < 6.5  # no caller waits a whole window


def test_sliding_window_counts_any_interval():
    budget = RateBudget("key", 60, "sliding", 60.0, burst=6, clock=lambda: 0.0)
    sent = drain(budget, 0.0, 180.0)
    for i, t in enumerate(sent):
        in_window = [u for u in sent[i:] if u < t + 60.0]
        assert len(in_window) <= 60


def test_headers_lower_the_estimate_when_others_spend_the_budget():
    budget = RateBudget("acme", 300, "fixed", 60.0, burst=300, clock=lambda: 0.0)
    assert budget.try_take(0.0) == 0
    ticket = Ticket(budget.generation)
    # Another client of the same company already used 250 of the window.
    budget.observe(ticket, HeaderReading(limit=300, remaining=49, reset_at=59.5), 200, 0.5)
    assert budget.used == 251
    taken = sum(1 for _ in range(100) if budget.try_take(1.0) == 0)
    assert taken == 49


def test_server_window_started_later_is_adopted():
    budget = RateBudget("acme", 10, "fixed", 60.0, clock=lambda: 0.0)
    assert budget.try_take(0.0) == 0
    ticket = Ticket(budget.generation)
    budget.observe(ticket, HeaderReading(remaining=9, reset_at=75.0), 200, 15.0)
    assert budget.window_end == 75.0  # our window would have ended at 60: too early


def test_429_blocks_everyone_until_retry_after():
    budget = RateBudget("key", 60, "sliding", 60.0, clock=lambda: 0.0)
    assert budget.try_take(0.0) == 0
    budget.observe(Ticket(1), HeaderReading(retry_at=7.0), 429, 1.0)
    assert budget.try_take(2.0) == pytest.approx(5.0)
    assert budget.try_take(7.0) == 0


def test_read_headers_units():
    remote = read_headers(
        {"x-ratelimit-count": "10", "x-ratelimit-remaining": "290", "x-ratelimit-reset": "1500"},
        REMOTE,
        now=100.0,
        wall_now=1_700_000_000.0,
    )
    assert remote == HeaderReading(limit=300, remaining=290, reset_at=101.5, retry_at=None)
    ops = read_headers(
        {
            "x-ratelimit-limit": "60",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1700000030",
            "retry-after": "12",
        },
        REMOTEOPS,
        now=5.0,
        wall_now=1_700_000_000.0,
    )
    assert ops.reset_at == pytest.approx(35.0) and ops.retry_at == pytest.approx(17.0) and ops.limit == 60


@pytest.mark.anyio
async def test_acquire_refuses_waits_beyond_the_allowance():
    vt = VirtualTime()
    budget = RateBudget("key", 1, "fixed", 60.0, clock=vt.time, sleep=vt.sleep)
    ticket, waited = await budget.acquire(1.0)
    assert waited == 0 and ticket.generation == 1
    vt.advance(1.5)
    with pytest.raises(BudgetExhausted) as info:
        await budget.acquire(1.0)
    assert info.value.retry_after_s == pytest.approx(58.5)
    assert vt.sleeps == []  # refused at once: no wait it would have to give up on


@pytest.mark.anyio
async def test_acquire_waits_for_the_slot_through_the_injected_sleep():
    vt = VirtualTime()
    budget = RateBudget("key", 2, "fixed", 10.0, burst=2, clock=vt.time, sleep=vt.sleep)
    waits = [(await budget.acquire(30.0))[1] for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(10.0)  # the next window, not a second earlier
    assert vt.sleeps == [pytest.approx(10.0)] and vt.time() - START == pytest.approx(10.0)


@pytest.mark.anyio
async def test_a_caller_arriving_while_another_waits_queues_behind_it():
    """The lock-free path for a free slot never lets a newcomer overtake a caller already waiting."""
    vt = VirtualTime()
    budget = RateBudget("key", 1, "fixed", 10.0, burst=1, clock=vt.time, sleep=vt.sleep)
    assert (await budget.acquire(60.0))[1] == 0.0  # the window's only slot, taken at once
    admitted: list[tuple[str, float]] = []

    async def caller(name: str) -> None:
        await budget.acquire(60.0)
        admitted.append((name, vt.time() - START))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(caller, "first")
        while not vt.sleeps:  # until "first" is asleep, waiting for the next window
            await anyio.lowlevel.checkpoint()
        vt.advance(10.0)  # the next window's slot is free, and "first" has not woken yet
        tasks.start_soon(caller, "second")
    assert admitted == [("first", pytest.approx(10.0)), ("second", pytest.approx(20.0))]
