"""Remote's fixed-window rate limit: N requests per window per company (or per partner client).

The window starts at a bucket's first request and lasts `window_seconds`; every token of a
company shares its bucket. Headers on every authenticated response: `x-ratelimit-count`
(requests in this window), `x-ratelimit-remaining`, `x-ratelimit-reset` (milliseconds until the
window ends — a duration, not a timestamp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ops_mcp.sandbox.remote.settings import RemoteSandboxSettings


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class RateLimiter:
    # Read on every hit, so tests may change `rate_limit` / `window_seconds` at run time.
    settings: RemoteSandboxSettings
    _windows: dict[str, _Window] = field(default_factory=dict)

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request for `key`; (allowed, headers)."""
        limit, length = self.settings.rate_limit, self.settings.window_seconds
        now = self.settings.clock.time()
        window = self._windows.get(key)
        if window is None or now >= window.started + length:
            window = self._windows[key] = _Window(now)
        window.count += 1
        allowed = window.count <= limit
        reset_ms = max(0, math.ceil((window.started + length - now) * 1000))
        headers = {
            "x-ratelimit-count": str(window.count),
            "x-ratelimit-remaining": str(max(0, limit - window.count)),
            "x-ratelimit-reset": str(reset_ms),
        }
        return allowed, headers

    def reset(self) -> None:
        self._windows.clear()
