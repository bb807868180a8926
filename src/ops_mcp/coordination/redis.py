"""Coordination through Redis: the shared budget window, replica heartbeats, and fan-out by pub/sub.

Keys and the channel live under ``[coordination] key_prefix``: ``<prefix>:budget:<budget key>`` (one
sliding window per tenant budget), ``<prefix>:replicas`` (heartbeats) and ``<prefix>:events`` (revocations
and policy changes, JSON).

Redis being down is a state, not an error: every budget falls back to ``LocalShare`` at once (no request
waits on a dead socket for long: short timeouts, and after a failure Redis is retried at most every
``RETRY_S``), ``status()`` says so, and everything resumes when it answers again.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import secrets
import time
from typing import Any

import anyio

from ..upstream.ratelimit import SharedWindow
from .base import CoordinationStatus, OnPolicy, OnRevoked
from .window import SLIDING_WINDOW, LocalShare, window_ms

log = logging.getLogger("ops_mcp.coordination")

RETRY_S = 1.0
PEAK_HOLD_S = 120.0  # two windows of a per-minute budget
SOCKET_TIMEOUT_S = 0.5
# A replica not heard from for this many heartbeats is no longer counted.
LIVE_HEARTBEATS = 3

# KEYS[1]: the replicas set; ARGV: this replica, the horizon in ms. Returns the number of live replicas.
HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
"""


class RedisCoordination:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "ops-mcp",
        heartbeat_s: float = 2.0,
        expected_replicas: int = 1,
        clock: Any = time.monotonic,
    ) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:
            raise RuntimeError(
                "coordination.redis_url is set but the driver is not installed: install ops-mcp[redis]"
            ) from None
        self._redis_errors: tuple[type[BaseException], ...] = (aioredis.RedisError, OSError)
        self._client = aioredis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry_on_timeout=False,
        )
        self.prefix = prefix
        self.heartbeat_s = heartbeat_s
        self.replica = f"{secrets.token_hex(6)}"
        self.clock = clock
        self.window: SharedWindow | None = self  # this object is the window the budgets consult
        self.expected_replicas = max(1, expected_replicas)
        self.replicas = self.expected_replicas  # until the heartbeats say
        self._peak = (self.expected_replicas, clock())  # the most replicas seen lately, and when
        self._local = LocalShare(clock)
        self._down_since: float | None = None  # clock time Redis was first seen down
        self._retry_at = 0.0
        self._recovery = anyio.Lock()
        self._slots = itertools.count()
        self._window_script = self._client.register_script(SLIDING_WINDOW)
        self._heartbeat_script = self._client.register_script(HEARTBEAT)

    # -- the shared window --------------------------------------------------------------------------

    async def take(self, key: str, limit: int, window_s: float) -> float:
        if self._down_since is not None and (self.clock() < self._retry_at or not await self._recover()):
            return self._local.take(key, limit, window_s, self.sharing())
        try:
            wait_ms, used = await self._window_script(
                keys=[f"{self.prefix}:budget:{key}"],
                args=[limit, window_ms(window_s), f"{self.replica}:{next(self._slots)}", 0],
            )
        except self._redis_errors as exc:
            self._failed(exc)
            return self._local.take(key, limit, window_s, self.sharing())
        self._local.saw(key, int(used))
        if int(wait_ms) == 0:
            self._local.note(key, window_s)
            return 0.0
        return int(wait_ms) / 1000

    async def _recover(self) -> bool:
        """Back to the shared windows, once they know what this replica spent alone (one recovery at a time)."""
        async with self._recovery:
            if self._down_since is None:
                return True
            try:
                await self._tell_offline()
                self._recovered()
                # Slots other tasks took alone while the first telling travelled: after _recovered() no
                # more are taken, so this second telling is the last.
                await self._tell_offline()
            except self._redis_errors as exc:
                self._failed(exc)
                return False
            return True

    def sharing(self) -> int:
        """How many replicas a share is cut for: the most seen within ``PEAK_HOLD_S`` (a replica whose
        heartbeat came late under load, or that just left, may still be spending its share)."""
        peak = self._peak[0] if self.clock() - self._peak[1] <= PEAK_HOLD_S else 1
        return max(self.replicas, peak)

    def _failed(self, exc: BaseException) -> None:
        now = self.clock()
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "Redis is unreachable (%s): each budget is cut to this replica's share, 1/%d",
                type(exc).__name__,
                self.replicas,
            )
        self._retry_at = now + RETRY_S

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning("Redis answers again: budgets are shared again")
            self._down_since = None

    # -- status ---------------------------------------------------------------------------------------

    def status(self) -> CoordinationStatus:
        if self._down_since is not None:
            return CoordinationStatus(
                "redis",
                False,
                self.replicas,
                f"redis unreachable: each budget cut to this replica's share (1/{self.sharing()} of it, "
                f"{self.replicas} replica(s) last seen)",
            )
        return CoordinationStatus(
            "redis", True, self.replicas, f"redis: budgets shared by {self.replicas} live replica(s)"
        )

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except self._redis_errors:
            return False

    # -- heartbeats and fan-out -----------------------------------------------------------------------

    async def heartbeat(self) -> None:
        horizon = int(self.heartbeat_s * LIVE_HEARTBEATS * 1000)
        try:
            live = await self._heartbeat_script(
                keys=[f"{self.prefix}:replicas"], args=[self.replica, horizon]
            )
        except self._redis_errors as exc:
            self._failed(exc)
            return
        self.replicas = max(self.expected_replicas, int(live))
        if self.replicas >= self._peak[0] or self.clock() - self._peak[1] > PEAK_HOLD_S:
            self._peak = (self.replicas, self.clock())
        if self._down_since is not None:
            await self._recover()

    async def _tell_offline(self) -> None:
        """Enter the slots taken alone during an outage into the shared windows, before saying "shared again"."""
        for key in self._local.untold():
            window_s = self._local.windows[key]
            offline = self._local.offline(key, window_s)
            await self._window_script(  # limit 0: takes nothing, only records what was spent
                keys=[f"{self.prefix}:budget:{key}"],
                args=[0, window_ms(window_s), f"{self.replica}:{next(self._slots)}", offline],
            )
            self._local.told(key, offline)

    async def run(self, *, on_revoked: OnRevoked, on_policy: OnPolicy) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._beat)
            tasks.start_soon(self._listen, on_revoked, on_policy)

    async def _beat(self) -> None:
        while True:
            await self.heartbeat()
            await anyio.sleep(self.heartbeat_s)

    async def _listen(self, on_revoked: OnRevoked, on_policy: OnPolicy) -> None:
        while True:
            try:
                await self._subscribe(on_revoked, on_policy)
            except self._redis_errors as exc:
                self._failed(exc)
            await anyio.sleep(RETRY_S)  # then subscribe again

    async def _subscribe(self, on_revoked: OnRevoked, on_policy: OnPolicy) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            while True:
                message = await pubsub.get_message(timeout=self.heartbeat_s)
                if message is not None:
                    await self._deliver(message.get("data"), on_revoked, on_policy)
        finally:
            await pubsub.aclose()

    async def _deliver(self, data: Any, on_revoked: OnRevoked, on_policy: OnPolicy) -> None:
        try:
            news = json.loads(data)
            kind, agent, origin = news["kind"], str(news["agent"]), news.get("origin")
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed coordination message")
            return
        if origin == self.replica:
            return
        try:
            if kind == "revoked":
                await on_revoked(agent)
            elif kind == "policy":
                on_policy(agent, news.get("policy"))
        except Exception:  # one bad message must not end the fan-out
            log.exception("applying a %s message from another replica failed", kind)

    @property
    def _channel(self) -> str:
        return f"{self.prefix}:events"

    async def _publish(self, news: dict[str, Any]) -> None:
        try:
            await self._client.publish(self._channel, json.dumps({**news, "origin": self.replica}))
        except self._redis_errors as exc:
            self._failed(exc)  # the others still see it at their next store read (revocations poll it)

    async def publish_revoked(self, agent: str) -> None:
        await self._publish({"kind": "revoked", "agent": agent})

    async def publish_policy(self, agent: str, policy: dict[str, Any] | None) -> None:
        await self._publish({"kind": "policy", "agent": agent, "policy": policy})

    async def aclose(self) -> None:
        with contextlib.suppress(*self._redis_errors):
            await self._client.aclose()
