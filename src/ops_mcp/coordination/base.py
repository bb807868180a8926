"""The coordination seam: a shared budget window (or none), a status, fan-out hooks, and a run loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..records import Frozen, set_fields
from ..upstream.ratelimit import SharedWindow

# What a replica does when another replica says an agent was revoked or its policy changed.
OnRevoked = Callable[[str], Awaitable[None]]
OnPolicy = Callable[[str, dict[str, Any] | None], None]


class CoordinationStatus(Frozen):
    __slots__ = ("engine", "ok", "replicas", "detail")
    engine: str  # "local" or "redis"
    ok: bool  # False: Redis unreachable, budgets cut to this replica's share
    replicas: int  # live replicas last seen (1 locally)
    detail: str

    def __init__(self, engine: str, ok: bool, replicas: int, detail: str) -> None:
        set_fields(self, engine=engine, ok=ok, replicas=replicas, detail=detail)

    def as_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "ok": self.ok, "replicas": self.replicas, "detail": self.detail}


class Coordination(Protocol):
    window: SharedWindow | None  # the budget every replica spends; None: this process's own budgets

    def status(self) -> CoordinationStatus: ...

    async def ping(self) -> bool:
        """True when the engine answers now (``ops-mcp check``)."""

    async def run(self, *, on_revoked: OnRevoked, on_policy: OnPolicy) -> None:
        """Heartbeats and fan-out until cancelled (the HTTP server's lifespan runs it)."""

    async def publish_revoked(self, agent: str) -> None: ...

    async def publish_policy(self, agent: str, policy: dict[str, Any] | None) -> None: ...

    async def aclose(self) -> None: ...


class LocalCoordination:
    """One process alone: its budgets are its own and there is nobody to tell."""

    window: SharedWindow | None = None

    def status(self) -> CoordinationStatus:
        return CoordinationStatus(
            "local", True, 1, "no redis_url: budgets and revocations are this process's own"
        )

    async def ping(self) -> bool:
        return True

    async def run(self, *, on_revoked: OnRevoked, on_policy: OnPolicy) -> None:
        return None

    async def publish_revoked(self, agent: str) -> None:
        return None

    async def publish_policy(self, agent: str, policy: dict[str, Any] | None) -> None:
        return None

    async def aclose(self) -> None:
        return None
