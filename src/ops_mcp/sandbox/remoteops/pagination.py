"""Keyset cursors: opaque tokens holding the sort key, the last id and a hash of the filters.

A cursor replayed with other filters (or another sort) is refused with 400 `invalid-cursor`, so a
client can never silently mix two result sets. Keyset paging neither skips nor repeats rows when
work orders change status mid-crawl, unlike offsets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from ops_mcp.sandbox.common.clock import Clock
from ops_mcp.sandbox.remoteops.problems import ApiError


def _invalid(detail: str) -> ApiError:
    return ApiError(400, "invalid-cursor", detail)


def _sort_value(value: Any) -> Any:
    # None sorts first ascending; numbers and RFC 3339 strings compare natively.
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


class Paginator:
    def __init__(self, secret: bytes, clock: Clock, ttl_seconds: float) -> None:
        self.secret = secret
        self.clock = clock
        self.ttl = ttl_seconds

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()[:16]

    @staticmethod
    def filter_hash(route: str, filters: dict[str, Any]) -> str:
        canonical = json.dumps({"route": route, "filters": filters}, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def encode(self, sort: str, key: Any, last_id: str, fhash: str) -> str:
        payload = json.dumps({"s": sort, "k": key, "i": last_id, "f": fhash,
                              "x": int(self.clock.time() + self.ttl)}, separators=(",", ":")).encode()
        token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{token}.{self._sign(payload)}"

    def decode(self, cursor: str, sort: str, fhash: str) -> tuple[Any, str]:
        token, _, signature = cursor.partition(".")
        try:
            payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise _invalid("The cursor is not one this API issued; start again without a cursor.") from None
        if not hmac.compare_digest(signature, self._sign(payload)) or not isinstance(data, dict):
            raise _invalid("The cursor is not one this API issued; start again without a cursor.")
        if data.get("x", 0) < self.clock.time():
            raise _invalid("The cursor has expired (cursors last 24 h); start again without a cursor.")
        if data.get("f") != fhash or data.get("s") != sort:
            raise _invalid("The cursor was issued for other filters or another sort; reuse the same "
                           "query parameters with it, or start again without a cursor.")
        return data.get("k"), str(data.get("i"))

    def page(self, items: list[dict[str, Any]], *, sort: str, key: Callable[[dict[str, Any]], Any],
             fhash: str, limit: int, cursor: str | None,
             id_of: Callable[[dict[str, Any]], str] = lambda o: o["id"]) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``items`` sorted by ``sort`` (``-field`` = descending), keyset after ``cursor``."""
        descending = sort.startswith("-")
        ordered = sorted(items, key=lambda o: (_sort_value(key(o)), id_of(o)), reverse=descending)
        if cursor:
            last_key, last_id = self.decode(cursor, sort, fhash)
            mark = (_sort_value(last_key), last_id)
            if descending:
                ordered = [o for o in ordered if (_sort_value(key(o)), id_of(o)) < mark]
            else:
                ordered = [o for o in ordered if (_sort_value(key(o)), id_of(o)) > mark]
        rows = ordered[:limit]
        if len(ordered) > limit:
            last = rows[-1]
            return rows, self.encode(sort, key(last), id_of(last), fhash)
        return rows, None
