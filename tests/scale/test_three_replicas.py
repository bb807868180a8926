"""Three replicas as separate processes sharing PostgreSQL and Redis in front of one Remote company.

One budget (0 upstream 429s, ≥ 90 % of it used), one audit chain (every answered call recorded exactly once,
even when a replica is SIGKILLed mid-load), one revocation (refused on every replica at once).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import anyio
import httpx
import pytest

from tests.server_http._support import mcp_client
from tests.support.hostile import ACCEPT, INIT

from .replicas import TOOL, Deployment, deployment

pytestmark = pytest.mark.anyio

CALLS_PER_AGENT = 6
pages = itertools.count(1)


async def call(replica_url: str, token: str, calls: int, outcomes: dict[int, str]) -> None:
    """``calls`` concurrent calls of one agent through one replica; each call's page number names it."""
    mine = [next(pages) for _ in range(calls)]

    async def one(client: Any, page: int) -> None:
        try:
            result = await client.call_tool(TOOL, {"page": page, "page_size": 1})
        except Exception as exc:  # the replica died under the call: no answer
            outcomes[page] = f"no answer: {type(exc).__name__}"
            return
        text = " ".join(getattr(c, "text", "") for c in result.content)
        outcomes[page] = "ok" if not result.is_error else ("budget" if "rate" in text.lower() else text)

    try:
        async with mcp_client(replica_url, token) as client, anyio.create_task_group() as tasks:
            for page in mine:
                tasks.start_soon(one, client, page)
    except Exception:  # the session itself broke (a killed replica): what got no outcome got no answer
        for page in mine:
            outcomes.setdefault(page, "no answer: session lost")


async def load(
    found: Deployment, calls: int, outcomes: dict[int, str], only: list[int] | None = None
) -> None:
    """Every agent's calls, agent i through replica i mod n: clients spread round-robin over the replicas."""
    targets = only if only is not None else list(range(len(found.replicas)))
    async with anyio.create_task_group() as tasks:
        for i, (_agent, token) in enumerate(sorted(found.tokens.items())):
            replica = found.replicas[targets[i % len(targets)]]
            tasks.start_soon(call, replica.url, token, calls, outcomes)


def audit_records(found: Deployment) -> list[dict[str, Any]]:
    done = found.cli("audit", "search", "--tool", TOOL, "--limit", "100000", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def verify(found: Deployment) -> str:
    done = found.cli("audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_three_replicas_share_one_budget_without_a_429(migrated_url, redis_target, tmp_path):
    """10 agents, 60 calls at once through 3 replicas, a budget of 30 a minute: 30 reach the company, none
    is refused by it; the other 30 are told by ops-mcp to retry later."""
    with deployment(tmp_path, migrated_url, redis_target, per_minute=30, sandbox_limit=30) as found:
        outcomes: dict[int, str] = {}
        await load(found, CALLS_PER_AGENT, outcomes)
        assert found.sandbox.statuses[429] == 0, found.sandbox.statuses
        assert 27 <= found.sandbox.answered <= 30, found.sandbox.statuses  # ≥ 90 % of the budget used
        assert len(outcomes) == 60 and set(outcomes.values()) <= {"ok", "budget"}, outcomes
        assert list(outcomes.values()).count("ok") == found.sandbox.answered
        records = audit_records(found)
        assert sorted(r["arguments"]["page"] for r in records) == sorted(outcomes)  # one record per call
        assert "60" in verify(found) or "verified" in verify(found).lower()


async def test_a_replica_killed_mid_load_loses_no_answered_call(migrated_url, redis_target, tmp_path):
    with deployment(tmp_path, migrated_url, redis_target, per_minute=100_000, sandbox_limit=100_000) as found:
        outcomes: dict[int, str] = {}
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(load, found, 20, outcomes)
            # Kill replica 2 once the load is well under way (some answers in, more in flight).
            with anyio.fail_after(120):
                while sum(v == "ok" for v in outcomes.values()) < 40:
                    await anyio.sleep(0.01)
            found.kill(2)
        answered = {page for page, outcome in outcomes.items() if outcome == "ok"}
        assert len(answered) >= 40
        after: dict[int, str] = {}
        await load(found, 2, after, only=[0, 1])  # the others keep serving
        assert set(after.values()) == {"ok"}, after
        records = audit_records(found)
        recorded = [r["arguments"]["page"] for r in records]
        for page in answered | set(after):
            assert recorded.count(page) == 1, page  # exactly one record per answered call
        assert len(recorded) == len(set(recorded))  # and never two for one call
        verify(found)


async def test_an_agent_revoked_on_one_replica_is_refused_on_the_others(migrated_url, redis_target, tmp_path):
    with deployment(
        tmp_path, migrated_url, redis_target, agents=2, per_minute=10_000, sandbox_limit=10_000
    ) as found:
        token = found.tokens["agent0"]
        b, c = found.replicas[1], found.replicas[2]
        async with mcp_client(b.url, token) as on_b:
            assert not (await on_b.call_tool(TOOL, {"page": 1})).is_error
            done = found.cli("agents", "revoke", "agent0")
            assert done.returncode == 0, done.stderr
            for replica in (b, c):  # the very next request, on every replica
                async with httpx.AsyncClient() as http:
                    answer = await http.post(
                        f"{replica.url}/mcp",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                    )
                assert answer.status_code == 401, answer.text
            with pytest.raises(Exception):  # noqa: B017 — the session already open on B is refused too
                with anyio.fail_after(30):
                    result = await on_b.call_tool(TOOL, {"page": 2})
                    if result.is_error:
                        raise RuntimeError("refused")
        other = found.tokens["agent1"]
        async with mcp_client(c.url, other) as on_c:  # other agents are not affected
            assert not (await on_c.call_tool(TOOL, {"page": 3})).is_error


def coordination_of(replica_url: str) -> dict[str, Any]:
    answer = httpx.get(f"{replica_url}/readyz", timeout=5)
    assert answer.status_code == 200, answer.text  # Redis down is a degraded budget, never "not ready"
    return answer.json()["coordination"]


async def test_redis_going_away_mid_load_brings_no_429_storm_and_no_crash(
    migrated_url, redis_target, tmp_path
):
    from urllib.parse import urlsplit

    from tests.support.waiting import eventually_sync

    from .proxy import Cuttable

    where = urlsplit(redis_target[0])
    proxy = Cuttable((where.hostname or "127.0.0.1", where.port or 6379))
    proxy.start()
    redis_url = f"redis://127.0.0.1:{proxy.port}{where.path or '/0'}"
    try:
        with deployment(
            tmp_path, migrated_url, redis_target, per_minute=60, sandbox_limit=60, redis_url=redis_url
        ) as found:
            assert eventually_sync(
                lambda: all(coordination_of(r.url)["replicas"] == 3 for r in found.replicas)
            )
            first: dict[int, str] = {}
            await load(found, 3, first)  # 30 calls: half the budget, shared through Redis
            assert set(first.values()) == {"ok"}, first
            proxy.cut()
            second: dict[int, str] = {}
            await load(found, CALLS_PER_AGENT, second)  # 60 more while Redis is gone
            assert found.sandbox.statuses[429] == 0, found.sandbox.statuses
            assert found.sandbox.answered <= 60
            assert set(second.values()) <= {"ok", "budget"}, second
            assert "ok" in second.values()  # each replica still serves its share: degraded, not stopped
            for replica in found.replicas:
                status = coordination_of(replica.url)
                assert status["ok"] is False and "1/3" in status["detail"], status
                assert replica.process.poll() is None
            metrics = httpx.get(f"{found.replicas[0].url}/metrics", timeout=5).text
            assert 'ops_mcp_coordination_ok{engine="redis"} 0.0' in metrics
            assert "ops_mcp_coordination_replicas 3.0" in metrics
            proxy.start()  # Redis is back
            assert eventually_sync(lambda: all(coordination_of(r.url)["ok"] for r in found.replicas))
            third: dict[int, str] = {}
            spent = (dict(found.sandbox.statuses), _window_size(redis_target, "remote:company:acme"))
            await load(found, 3, third)  # Redis learns what was spent meanwhile: still no 429
            assert found.sandbox.statuses[429] == 0, (found.sandbox.statuses, "before:", spent, third)
            assert found.sandbox.answered <= 60
    finally:
        proxy.cut()




async def test_a_revoked_agents_open_stream_on_another_replica_closes_at_once(
    migrated_url, redis_target, tmp_path
):
    """The replicas poll the token table only every 30 s here: the stream on B closes because A's revocation
    reached it through Redis."""
    with deployment(
        tmp_path, migrated_url, redis_target, replicas=2, agents=1, per_minute=1000, sandbox_limit=1000
    ) as found:
        token, b = found.tokens["agent0"], found.replicas[1]
        headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=60) as http:
            opened = await http.post(f"{b.url}/mcp", json=INIT, headers=headers)
            session = {
                "mcp-session-id": opened.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-06-18",
            }
            await http.post(
                f"{b.url}/mcp",
                json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                headers={**headers, **session},
            )
            stream_headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {token}", **session}
            async with http.stream("GET", f"{b.url}/mcp", headers=stream_headers) as stream:
                assert stream.status_code == 200
                done = found.cli("agents", "revoke", "agent0")  # a process of its own, as an operator runs it
                assert done.returncode == 0, done.stderr
                with anyio.fail_after(20):  # well before the 30 s poll
                    async for _ in stream.aiter_bytes():
                        pass  # until the server ends the stream


def _window_size(redis_target: tuple[str, str], key: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_target[0])
    try:
        return int(client.zcard(f"{redis_target[1]}:budget:{key}"))
    finally:
        client.close()
