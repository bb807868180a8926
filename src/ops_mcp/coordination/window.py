"""A tenant's budget spent by every replica: one sliding window per budget key, in Redis, taken atomically.

``SLIDING_WINDOW`` runs inside Redis (one script call per slot, so no two replicas can both take the last
slot), on Redis's own clock (``TIME``), so replicas with skewed clocks still agree. The window is a little
longer than the back end's (``SAFETY``): a slot is counted when it is taken, the back end counts the
request when it arrives a moment later, and a fixed window on the back end must never see one request too
many.

When Redis does not answer, ``LocalShare`` decides instead: each replica gets ``limit // replicas`` of the
window, the replicas being those last seen alive, and counts what it took from the shared window in the
last ``window_s`` against that share, so the switch never hands out a fresh full budget.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

SAFETY_FACTOR = 1.02
SAFETY_MS = 50

# KEYS[1]: the window (a sorted set of slots scored by time in ms); ARGV: limit, window in ms, slot id, and
# how many slots this replica took on its own while Redis was away (entered first, as taken now: after an
# outage the window must know what was spent meanwhile, or it would hand the whole budget out again).
# Returns {0, slots in the window} when a slot was taken, else {milliseconds until the oldest slot leaves the
# window, slots in the window}.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
for i = 1, tonumber(ARGV[4]) do
  redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':offline:' .. i)
end
local used = redis.call('ZCARD', KEYS[1])
if used < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return {0, used + 1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {math.max(1, tonumber(oldest[2]) + window - now), used}
"""


def window_ms(window_s: float) -> int:
    return int(math.ceil(window_s * 1000 * SAFETY_FACTOR)) + SAFETY_MS


class LocalShare:
    """This replica's own sliding windows: its slots of the last window, shared or not.

    Alone, a replica takes at most ``limit // replicas`` slots in any window, and — for one window after it
    last saw the shared one — at most its part of what was still free then, ``(limit - used) // replicas``:
    the others may have spent more than their share while Redis was there, and a full window must not be
    handed out again just because Redis went away.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._taken: dict[str, deque[float]] = {}
        self._offline: dict[str, deque[float]] = {}  # slots taken from the share alone, not yet in Redis
        self.windows: dict[str, float] = {}  # budget key -> its window, for telling Redis later
        self._seen: dict[str, tuple[int, float]] = {}  # budget key -> (slots used, when) at the last sight
        self._alone: dict[str, int] = {}  # slots taken alone since that sight

    def note(self, key: str, window_s: float) -> None:
        """A slot this replica took (from the shared window or its share)."""
        self._prune(key, window_s).append(self.clock())

    def saw(self, key: str, used: int) -> None:
        """The shared window held ``used`` slots just now."""
        self._seen[key] = (used, self.clock())
        self._alone[key] = 0

    def take(self, key: str, limit: int, window_s: float, replicas: int) -> float:
        """0 and a slot of this replica's share, or the seconds until one frees up."""
        replicas, span = max(1, replicas), window_ms(window_s) / 1000
        share = max(1, limit // replicas)
        taken = self._prune(key, span)
        if len(taken) >= share:
            return max(0.001, taken[-share] + span - self.clock())
        seen = self._seen.get(key)
        recent = seen is not None and self.clock() - seen[1] < span
        if seen is not None and recent and self._alone.get(key, 0) >= max(0, limit - seen[0]) // replicas:
            return max(0.001, seen[1] + span - self.clock())  # until that sight is a window old
        taken.append(self.clock())
        self._alone[key] = self._alone.get(key, 0) + 1
        self._offline.setdefault(key, deque()).append(self.clock())
        self.windows[key] = window_s
        return 0.0

    def offline(self, key: str, window_s: float) -> int:
        """Slots taken alone (Redis away) still inside the window: what Redis must be told."""
        return len(self._prune(key, window_ms(window_s) / 1000, self._offline))

    def told(self, key: str, count: int) -> None:
        """Redis now knows of the oldest ``count`` (slots taken meanwhile, while the news travelled, stay)."""
        slots = self._offline.get(key)
        for _ in range(min(count, len(slots or ()))):
            slots.popleft()  # type: ignore[union-attr]

    def untold(self) -> list[str]:
        """Budget keys with slots taken alone that Redis has not been told of."""
        return [key for key, slots in self._offline.items() if slots]

    def _prune(self, key: str, window_s: float, where: dict[str, deque[float]] | None = None) -> deque[float]:
        taken = (self._taken if where is None else where).setdefault(key, deque())
        horizon = self.clock() - window_s
        while taken and taken[0] <= horizon:
            taken.popleft()
        return taken
