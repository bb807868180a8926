"""What replicas must share, fast: upstream rate budgets, and news of revocations and policy changes.

Without ``[coordination] redis_url`` (or ``$OPS_MCP_REDIS_URL``) a process coordinates with nobody
(``LocalCoordination``): its budgets are its own, as for stdio and single-process installs. With it,
``RedisCoordination`` (needs ``ops-mcp[redis]``, imported only then) keeps each tenant's budget as one
sliding window in Redis that every replica spends, and fans revocations and policy changes out to every
replica. When Redis cannot be reached, each replica falls back to its share of each budget — the budget
divided by the replicas last seen alive — and says so in ``/readyz`` and the metrics: never unlimited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Coordination, CoordinationStatus, LocalCoordination

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["Coordination", "CoordinationStatus", "LocalCoordination", "open_coordination"]


def open_coordination(settings: Settings) -> Coordination:
    config = settings.coordination
    if config.redis_url is None:
        return LocalCoordination()
    from .redis import RedisCoordination

    return RedisCoordination(
        config.redis_url.get_secret_value(),
        prefix=config.key_prefix,
        heartbeat_s=config.heartbeat_seconds,
        expected_replicas=config.expected_replicas,
    )
