"""A value built at its first use, once, however many threads ask for it at the same time (the shared
upstream client, the sandbox emulators' seeded data)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class BuiltOnFirstUse(Generic[T]):
    """``get()`` builds the value the first time (a server's warm-up thread and its first request may both
    ask); ``set()`` replaces it, ``forget()`` makes the next ``get()`` build it again."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._value is not None

    @property
    def value(self) -> T | None:
        """The value if it has been built, else None (never builds it)."""
        return self._value

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def set(self, value: T) -> None:
        self._value = value

    def forget(self) -> None:
        with self._lock:
            self._value = None
