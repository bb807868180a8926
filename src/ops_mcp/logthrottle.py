"""At most one log line per key and interval, saying how many were held back.

For lines a peer can cause at will (rejected webhooks, refused requests): the operator still learns that it
happens and how often, but an attacker cannot turn the log into the thing that fills the disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class ThrottledLog:
    def __init__(self, clock: Callable[[], float] = time.monotonic, every: float = 10.0, keys: int = 1024) -> None:
        self.clock = clock
        self.every = every
        self.keys = keys
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def admit(self, key: Hashable) -> int | None:
        """None: do not log this one; otherwise log it, adding the returned count of lines held back."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if last is None and len(self._last) >= self.keys:
            # Keys are bounded by design (back end × kind, agent × limit); this only caps the dict itself.
            self._last.clear()
            self._held.clear()
        self._last[key] = now
        return self._held.pop(key, 0)
