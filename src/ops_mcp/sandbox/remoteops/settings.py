"""Settings of the RemoteOps emulator (all optional; defaults match the real API's limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import httpx

from ops_mcp.sandbox.common.clock import Clock
from ops_mcp.sandbox.common.faults import FaultSettings


@dataclass
class RemoteOpsSandboxSettings:
    seed: int = 20240917
    # Anchor of the seeded timeline; None = today (UTC), so SLAs and due dates look current.
    seed_date: date | None = None
    work_orders_per_tenant: int = 320
    # Sliding-window rate limit per API key (429 responses do not count).
    rate_limit: int = 60
    window_seconds: float = 60
    # Optional SQLite file: state is loaded from it at start and saved after every write.
    db_path: str | None = None
    faults: FaultSettings = field(default_factory=FaultSettings)
    # Webhook delivery: 1 + retries attempts, backoff (60, 300, 1500) s × time_scale.
    webhook_time_scale: float = 1.0
    webhook_retries: int = 3
    webhook_backoff_seconds: tuple[float, ...] = (60, 300, 1500)
    webhook_timeout: float = 15
    # In-process tests can deliver webhooks to an ASGI receiver: httpx.ASGITransport(receiver).
    webhook_transport: httpx.AsyncBaseTransport | None = None
    # The sandbox accepts http://127.0.0.1 and http://localhost endpoints; production would not.
    allow_loopback_webhooks: bool = True
    idempotency_ttl_seconds: float = 24 * 3600
    cursor_ttl_seconds: float = 24 * 3600
    clock: Clock | None = None
