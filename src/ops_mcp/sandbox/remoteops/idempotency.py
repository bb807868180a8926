"""Idempotency-Key handling (§8): fingerprint, in-flight lock, replay, 24 h retention."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ops_mcp.sandbox.common.clock import Clock
from ops_mcp.sandbox.remoteops.problems import ApiError

# Stored after execution began: success, and the client errors that would repeat identically.
STORED_STATUSES = {400, 404, 409, 422}
REPLAYED_HEADERS = ("location", "etag", "content-type", "content-language")


@dataclass
class StoredResponse:
    fingerprint: str
    created_at: float
    in_flight: bool = True
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def parse_key(raw: str) -> str:
    """Accept the bare form and the sf-string form ("…"); 1–255 printable ASCII characters."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= 255 or not all(32 <= ord(c) < 127 for c in value):
        raise ApiError(400, "bad-request", "Idempotency-Key must be 1–255 printable ASCII characters "
                                           "(a UUIDv4 is recommended).")
    return value


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class IdempotencyStore:
    def __init__(self, ttl_seconds: float, clock: Clock) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[tuple[str, ...], StoredResponse] = {}

    def _prune(self) -> None:
        cutoff = self.clock.time() - self.ttl
        for scope in [s for s, e in self._entries.items() if e.created_at < cutoff and not e.in_flight]:
            del self._entries[scope]

    def begin(self, scope: tuple[str, ...], print_: str) -> StoredResponse | None:
        """None: the caller runs the request now. A finished entry: the caller replays it."""
        self._prune()
        entry = self._entries.get(scope)
        if entry is None:
            self._entries[scope] = StoredResponse(print_, self.clock.time())
            return None
        if entry.fingerprint != print_:
            raise ApiError(422, "idempotency-key-reused",
                           "This Idempotency-Key was already used with a different request body; "
                           "use a new key for a new request.")
        if entry.in_flight:
            raise ApiError(409, "idempotency-request-in-progress",
                           "A request with this Idempotency-Key is still running; retry shortly.",
                           headers={"Retry-After": "1"})
        return entry

    def finish(self, scope: tuple[str, ...], status: int, body: bytes, headers: dict[str, str]) -> None:
        entry = self._entries.get(scope)
        if entry is None:
            return
        if 200 <= status < 300 or status in STORED_STATUSES:
            entry.in_flight = False
            entry.status = status
            entry.body = body
            entry.headers = {k: v for k, v in headers.items() if k.lower() in REPLAYED_HEADERS}
        else:
            # 401/403/429/5xx are rolled back so the client may retry with the same key.
            del self._entries[scope]

    def abandon(self, scope: tuple[str, ...]) -> None:
        self._entries.pop(scope, None)

    def __len__(self) -> int:
        return len(self._entries)
