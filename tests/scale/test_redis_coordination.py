"""Replicas share each tenant's budget through Redis, hear each other's revocations and policy changes, and
fall back to a conservative local share — and say so — when Redis is unreachable."""

from __future__ import annotations

import anyio
import pytest

from ops_mcp.coordination.policies import PolicyFanOut, policy_news
from ops_mcp.coordination.redis import RedisCoordination
from ops_mcp.policy import AgentPolicy, Policies
from tests.support.loopback import free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio


def replica(target: tuple[str, str]) -> RedisCoordination:
    url, prefix = target
    return RedisCoordination(url, prefix=prefix, heartbeat_s=0.2)


async def test_two_replicas_together_never_take_more_than_the_budget(redis_target):
    one, two = replica(redis_target), replica(redis_target)
    try:
        granted = 0
        waits = []
        for i in range(12):
            wait = await (one if i % 2 else two).take("remote:company:acme", 5, 30.0)
            granted += wait == 0
            if wait:
                waits.append(wait)
        assert granted == 5
        assert len(waits) == 7 and all(25.0 < w <= 31.0 for w in waits), waits  # until the oldest slot leaves
        assert await one.take("remote:company:globex", 5, 30.0) == 0  # another budget key, another window
        assert one.status().ok and two.status().ok
    finally:
        await one.aclose()
        await two.aclose()


async def test_live_replicas_are_counted_from_their_heartbeats(redis_target):
    replicas = [replica(redis_target) for _ in range(3)]
    try:
        for r in replicas:
            await r.heartbeat()
        await replicas[0].heartbeat()
        assert replicas[0].replicas == 3
        assert replicas[0].status().as_dict() == {
            "engine": "redis",
            "ok": True,
            "replicas": 3,
            "detail": "redis: budgets shared by 3 live replica(s)",
        }
    finally:
        for r in replicas:
            await r.aclose()


async def test_without_redis_a_replica_takes_only_its_share_and_says_so(redis_target):
    _, prefix = redis_target
    closed = RedisCoordination(f"redis://127.0.0.1:{free_port()}/0", prefix=prefix)
    closed.replicas = 3  # as last seen, before Redis went away
    try:
        takes = [await closed.take("remote:company:acme", 30, 60.0) for _ in range(12)]
        assert takes[:10] == [0.0] * 10  # 30 ÷ 3 replicas
        assert all(wait > 50.0 for wait in takes[10:])  # never unlimited: the rest wait for the window
        status = closed.status()
        assert not status.ok and "1/3" in status.detail and "unreachable" in status.detail
    finally:
        await closed.aclose()


async def test_a_revocation_on_one_replica_reaches_the_others(redis_target):
    a, b = replica(redis_target), replica(redis_target)
    heard_by_b: list[str] = []
    heard_by_a: list[str] = []
    done = anyio.Event()

    async def on_b(agent: str) -> None:
        heard_by_b.append(agent)
        done.set()

    async def on_a(agent: str) -> None:
        heard_by_a.append(agent)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: b.run(on_revoked=on_b, on_policy=lambda *_: None))
            tasks.start_soon(lambda: a.run(on_revoked=on_a, on_policy=lambda *_: None))
            channel = f"{redis_target[1]}:events"
            assert await eventually(lambda: _subscribers(a, channel, 2), timeout=30)
            await a.publish_revoked("hr")
            with anyio.fail_after(30):
                await done.wait()
            tasks.cancel_scope.cancel()
        assert heard_by_b == ["hr"] and heard_by_a == []  # a replica ignores its own news
    finally:
        await a.aclose()
        await b.aclose()


async def _subscribers(coordination: RedisCoordination, channel: str, want: int) -> bool:
    counts = await coordination._client.pubsub_numsub(channel)
    return bool(counts) and counts[0][1] >= want


async def test_a_policy_changed_on_one_replica_is_put_on_the_others(redis_target):
    a, b = replica(redis_target), replica(redis_target)
    before = AgentPolicy(name="hr", levels={"remote.timeoff": "read"})
    here, there = (
        Policies({"hr": before}),
        Policies({"hr": AgentPolicy(name="hr", levels={"remote.timeoff": "read"})}),
    )
    changed_there = anyio.Event()
    there.on_change(lambda agent: changed_there.set())
    fan_a, fan_b = PolicyFanOut(here, a), PolicyFanOut(there, b)
    try:
        async with anyio.create_task_group() as tasks:
            for fan, coordination in ((fan_a, a), (fan_b, b)):
                tasks.start_soon(fan.run)
                tasks.start_soon(lambda c=coordination, f=fan: c.run(on_revoked=_ignore, on_policy=f.apply))
            assert await eventually(lambda: _subscribers(a, f"{redis_target[1]}:events", 2), timeout=30)
            here.put(
                AgentPolicy(
                    name="hr", levels={"remote.timeoff": "full"}, confirm_areas=frozenset({"remote.timeoff"})
                )
            )
            with anyio.fail_after(30):
                await changed_there.wait()
            tasks.cancel_scope.cancel()
        assert there["hr"].levels == {"remote.timeoff": "full"}
        assert policy_news(there["hr"]) == policy_news(here["hr"])
    finally:
        await a.aclose()
        await b.aclose()


async def _ignore(agent: str) -> None:
    return None


async def test_slots_taken_alone_during_an_outage_are_told_to_redis_when_it_returns(redis_target):
    from tests.scale.proxy import Cuttable
    from tests.support.waiting import eventually

    url, prefix = redis_target
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    proxy = Cuttable((host, int(port)))
    proxy.start()
    replica = RedisCoordination(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix, heartbeat_s=0.2)
    replica.replicas = 3
    other = RedisCoordination(url, prefix=prefix)
    try:
        assert [await replica.take("k", 60, 60.0) for _ in range(5)] == [0.0] * 5  # shared
        proxy.cut()
        alone = [await replica.take("k", 60, 60.0) for _ in range(20)]
        assert alone[:15] == [0.0] * 15 and all(w > 0 for w in alone[15:])  # its share: 60 ÷ 3, 5 used
        proxy.start()

        async def back() -> bool:
            await replica.heartbeat()
            return replica.status().ok

        assert await eventually(back, timeout=30)
        # Another replica now sees 20 slots spent in this window, not 5: 40 left, not 55.
        granted = [await other.take("k", 60, 60.0) for _ in range(45)]
        assert granted.count(0.0) == 40
    finally:
        proxy.cut()
        await replica.aclose()
        await other.aclose()


async def test_a_replica_that_never_saw_redis_takes_the_share_it_was_told_to_expect(redis_target):
    _, prefix = redis_target
    alone = RedisCoordination(f"redis://127.0.0.1:{free_port()}/0", prefix=prefix, expected_replicas=4)
    try:
        takes = [await alone.take("remote:company:acme", 40, 60.0) for _ in range(12)]
        assert takes.count(0.0) == 10  # 40 ÷ 4, not the whole budget
    finally:
        await alone.aclose()


def test_alone_a_replica_takes_only_its_part_of_what_was_still_free_when_it_last_looked():
    """The others may have spent more than their share while Redis was there: 50 of 60 were used, so three
    replicas alone may add 10 between them, not 20 each."""
    from ops_mcp.coordination.window import LocalShare

    now = [1000.0]
    share = LocalShare(clock=lambda: now[0])
    share.note("k", 60.0)
    share.saw("k", 50)
    assert [share.take("k", 60, 60.0, 3) for _ in range(5)][:3] == [0.0] * 3
    assert share.take("k", 60, 60.0, 3) > 0
    now[0] += (
        62.0  # that sight is more than a window old: the plain share again (20, one already used... gone)
    )
    assert [share.take("k", 60, 60.0, 3) for _ in range(20)].count(0.0) == 20
