"""A tenant's budget is shared fairly between its agents: per-agent queues served round-robin, by weight."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from ops_mcp.upstream.fairshare import FairQueue, budget_caller, current_caller
from ops_mcp.upstream.ratelimit import BudgetExhausted, RateBudget

from .virtual_time import VirtualTime

pytestmark = pytest.mark.anyio


async def settle(turns: int = 20) -> None:
    for _ in range(turns):
        await anyio.lowlevel.checkpoint()


async def take(
    budget: RateBudget, agent: str, order: list[str], waits: dict[str, list[float]], allowance: float = 1000.0
) -> None:
    with budget_caller(agent):
        try:
            _, waited = await budget.acquire(allowance)
        except BudgetExhausted:
            order.append(f"{agent}:refused")
            return
    order.append(agent)
    waits.setdefault(agent, []).append(waited)


async def test_one_agents_burst_does_not_make_another_agent_wait_behind_it():
    """Item 12: 200 concurrent calls of one agent; another agent's single call is served next, not last."""
    vt = VirtualTime()
    budget = RateBudget("remote:acme", 10, "sliding", 10.0, burst=1, clock=vt.time, sleep=vt.sleep)
    order: list[str] = []
    waits: dict[str, list[float]] = {}
    async with anyio.create_task_group() as tasks:
        for _ in range(200):
            tasks.start_soon(take, budget, "bulk", order, waits)
        await settle()
        tasks.start_soon(take, budget, "quiet", order, waits, 20.0)
    assert "quiet" in order, order[:5]
    # At most the one slot being waited for and one turn of "bulk" (whose turn it already is) come first,
    # whatever the length of the queue of "bulk": FIFO served it 201st.
    assert order.index("quiet") <= 3
    assert waits["quiet"][0] <= 3.0  # seconds of (virtual) time: a couple of slots of a 1/s budget, not 200


async def test_weights_share_the_slots_two_to_one():
    vt = VirtualTime()
    budget = RateBudget(
        "remote:acme",
        100,
        "sliding",
        100.0,
        burst=1,
        clock=vt.time,
        sleep=vt.sleep,
        weight_of={"heavy": 2, "light": 1}.__getitem__,
    )
    order: list[str] = []
    async with anyio.create_task_group() as tasks:
        for _ in range(30):
            tasks.start_soon(take, budget, "heavy", order, {})
            tasks.start_soon(take, budget, "light", order, {})
    served = order[1:31]  # after the first caller, who found the queue empty
    assert served.count("heavy") == 20 and served.count("light") == 10, served
    assert all(served[i : i + 3].count("heavy") == 2 for i in range(0, 30, 3)), served


async def test_a_waiter_that_gives_up_leaves_its_queue():
    queue = FairQueue()
    await queue.acquire("a")
    with anyio.move_on_after(0.01):
        await queue.acquire("b")
    assert queue.waiting == {}
    queue.release()
    await queue.acquire("c")  # free again: taken at once
    queue.release()


async def test_a_turn_handed_to_a_cancelled_waiter_passes_on():
    queue = FairQueue()
    await queue.acquire("a")
    got: list[str] = []

    async def waiter(agent: str, scope_box: list[anyio.CancelScope]) -> None:
        with anyio.CancelScope() as scope:
            scope_box.append(scope)
            await queue.acquire(agent)
            got.append(agent)
            queue.release()

    async with anyio.create_task_group() as tasks:
        b_scope: list[anyio.CancelScope] = []
        tasks.start_soon(waiter, "b", b_scope)
        tasks.start_soon(waiter, "c", [])
        await settle()
        queue.release()  # hands the turn to "b" ...
        b_scope[0].cancel()  # ... which is cancelled as it wakes: "c" must still get its turn
    assert got[-1:] == ["c"]
    with anyio.fail_after(1):
        await queue.acquire("d")  # and nobody holds the lock for good


async def test_calls_outside_any_agent_share_one_queue():
    assert current_caller() == ""
    with budget_caller("ops-bot"):
        assert current_caller() == "ops-bot"
    assert current_caller() == ""


async def test_the_executor_names_the_agent_whose_turn_a_budget_slot_is(tmp_path):
    """Through the whole stack: the upstream request of an agent's call is made as that agent's turn."""
    from mcp import Client

    from ops_mcp.config import Settings
    from ops_mcp.runtime import build_runtime
    from ops_mcp.sandbox.embedded import embedded_sandbox_app
    from tests.support.runtime import close, make_server

    seen: list[str] = []
    sandbox = embedded_sandbox_app()

    async def witness(scope, receive, send):  # in process: the sandbox runs inside the caller's context
        if scope["type"] == "http" and scope["path"].startswith("/remote/"):
            seen.append(current_caller())
        await sandbox(scope, receive, send)

    settings = Settings(
        storage={"dir": str(tmp_path / "state")},
        agents={"hr": {"areas": {"remote.timeoff": "read"}, "budget_weight": 3}},
    )
    runtime = build_runtime(settings, sandbox_app=witness)
    try:
        async with Client(make_server(runtime, "hr"), mode="legacy") as client:
            assert not (await client.call_tool("remote_list_timeoff", {"page_size": 1})).is_error
        assert seen and set(seen) == {"hr"}
        budgets = runtime.upstream.client._wiring.budgets
        assert budgets.weights == {"hr": 3}
    finally:
        close(runtime)
