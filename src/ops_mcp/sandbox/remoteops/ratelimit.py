"""Sliding-window rate limit per API key (the real API's 60 requests per 60 s)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ops_mcp.sandbox.common.clock import Clock


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until a slot frees up
    reset_at: int  # epoch seconds
    window: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": f'"default";q={self.limit};w={self.window}',
            "RateLimit": f'"default";r={self.remaining};t={self.reset_after}',
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after))
        return headers


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> RateDecision:
        """Count one request for ``key`` unless it is over the limit (429s are not counted)."""
        now = self.clock.time()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now)
        oldest = hits[0] if hits else now
        reset_after = max(0, math.ceil(oldest + self.window - now)) if hits else 0
        return RateDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - len(hits)),
            reset_after=reset_after,
            reset_at=math.ceil(now + reset_after),
            window=math.ceil(self.window),
        )
