"""Settings of the Remote emulator: seed, limits, token lifetime, webhook timing, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import httpx

from ops_mcp.sandbox.common import Clock, FaultSettings, SystemClock


@dataclass
class RemoteSandboxSettings:
    seed: int = 42
    # "Today" for the seeded data (dates of time off, invoices, calendars); None = the clock's date.
    today: date | None = None
    clock: Clock = field(default_factory=SystemClock)
    # Remote's fixed window: `rate_limit` requests per `window_seconds`, per company.
    rate_limit: int = 300
    window_seconds: float = 60.0
    # Lifetime of OAuth access tokens (Remote: 3600 s); tests shorten it.
    token_ttl_seconds: int = 3600
    # Authorization codes live 5 minutes and are single use (Remote's auth guide).
    authorization_code_ttl_seconds: int = 300
    # Refresh-token rotation. Remote does not rotate refresh tokens; the emulator does by default, so
    # clients are tested against the stricter behaviour: each refresh returns a new refresh token and
    # the previous one keeps working for `refresh_token_grace_seconds` (a retried refresh after a lost
    # response must not lock the client out). `refresh_token_rotation=False` gives Remote's behaviour.
    refresh_token_rotation: bool = True
    refresh_token_grace_seconds: float = 60.0
    # Webhook delivery: 3 retries on exponential backoff; `webhook_time_scale` compresses the waits.
    webhook_retries: int = 3
    webhook_backoff_seconds: tuple[float, ...] = (60, 300, 1500)
    webhook_time_scale: float = 1.0
    webhook_timeout: float = 15.0
    # Deliveries go through this transport when set (e.g. httpx.ASGITransport(receiver_app)).
    webhook_transport: httpx.AsyncBaseTransport | None = None
    faults: FaultSettings = field(default_factory=FaultSettings)
    # Optional SQLite file: state is loaded from it at start and saved after every write.
    persistence_path: str | None = None
