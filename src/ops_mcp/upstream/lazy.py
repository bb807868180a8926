"""The shared upstream client, built on its first use.

Building an ``UpstreamClient`` imports httpx, which the first ``tools/list`` never needs; start-up stays
lean by building the client when the first call (or probe) goes upstream, or earlier in a background
thread (``warm``, see ``warmup.py``) once the server is idle. Everything else sees one typed object from
the start. The build is behind a lock: a call that arrives while the warm-up builds waits for that
client instead of making a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..once import BuiltOnFirstUse

if TYPE_CHECKING:
    from ..catalogue.models import Endpoint
    from .client import CallOutcome, UpstreamClient
    from .connection import Connection
    from .events import UpstreamStats
    from .ratelimit import RateBudget


class LazyUpstream:
    def __init__(self, factory: Callable[[], UpstreamClient]) -> None:
        self._once = BuiltOnFirstUse(factory)

    @property
    def _client(self) -> UpstreamClient | None:
        return self._once.value

    @property
    def client(self) -> UpstreamClient:
        return self._once.get()

    def warm(self) -> None:
        """Build the client and what its first request needs (any thread; see ``warmup.py``)."""
        self.client.warm()

    @property
    def built(self) -> bool:
        return self._once.built

    @property
    def stats(self) -> UpstreamStats | None:
        """The client's counters, or None before the first call (never built just to be read)."""
        return self._client.stats if self._client is not None else None

    def rate_budgets(self) -> dict[str, RateBudget]:
        """The client's rate budgets by key; none before the first call (never built just to be read)."""
        return self._client.rate_budgets() if self._client is not None else {}

    async def call(self, connection: Connection, endpoint: Endpoint, arguments: dict[str, Any], *,
                   progress: Any = None, idempotency_key: str | None = None) -> CallOutcome:
        return await self.client.call(connection, endpoint, arguments, progress=progress,
                                      idempotency_key=idempotency_key)

    async def request_json(self, connection: Connection, method: str, path: str, *,
                           params: dict[str, Any] | None = None) -> tuple[int, Any]:
        return await self.client.request_json(connection, method, path, params=params)

    async def aclose(self) -> None:
        client = self._client
        if client is not None:
            await client.aclose()
            self._once.forget()
