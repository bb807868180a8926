"""Copies of seeded data, for processes that build the same emulator again and again.

Seed data is a function of a few values (seed, day, volume), and unpickling it is several times cheaper than
seeding it again: the test suite builds an embedded sandbox for every runtime it makes. The second time a
key is seeded its result is kept (pickled, so every caller gets its own copy to mutate); from then on it is
copied. A process that builds its sandbox once (``ops-mcp run``) seeds once and keeps nothing.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class SeedCopies:
    def __init__(self, keep: int = 4) -> None:
        self._keep = keep  # distinct keys kept (each ~1-2 MB pickled)
        self._seen: set[Hashable] = set()
        self._pickled: dict[Hashable, bytes] = {}

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """A fresh copy of what ``build()`` returns for ``key`` (it must depend on nothing else)."""
        cached = self._pickled.get(key)
        if cached is not None:
            copy: T = pickle.loads(cached)
            return copy
        value = build()
        if key in self._seen and len(self._pickled) < self._keep:
            self._pickled[key] = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        self._seen.add(key)
        return value
