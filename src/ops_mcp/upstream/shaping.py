"""Upstream body → the result the model sees: unwrapped, projected, and small enough.

A result is always a JSON object (the tool's outputSchema root). When it is too large, list items
are dropped from the end — JSON is never cut mid-way — and the result says ``truncated: true`` and
how to get the rest.
"""

from __future__ import annotations

import json
from typing import Any

from ..catalogue.models import ResponseSpec

# Room kept for the "truncated" and "next" keys added after fitting.
_RESERVE_BYTES = 300


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def size_of(value: Any) -> int:
    return len(dumps(value).encode())


def unwrap(body: Any, spec: ResponseSpec) -> dict[str, Any]:
    """Follow ``spec.unwrap`` (e.g. ["data", "employment"]); tolerate a body that stops early."""
    value = body
    for key in spec.unwrap:
        if isinstance(value, dict) and key in value:
            value = value[key]
        else:
            break
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    # A bare list or scalar: give it the list key the schema expects, so the root is an object.
    return {spec.list_key or "data": value} if isinstance(value, list) else {"value": value}


def _id_keys(item: dict[str, Any]) -> set[str]:
    """Ids survive every projection: ``id``, or ``*_id`` keys when the object has no ``id``."""
    if "id" in item:
        return {"id"}
    return {k for k in item if k.endswith("_id")}


def _select(obj: dict[str, Any], fields: list[str], always: set[str]) -> dict[str, Any]:
    nested: dict[str, list[str]] = {}
    top: set[str] = set()
    for name in fields:
        head, _, rest = name.partition(".")
        if rest:
            nested.setdefault(head, []).append(rest)
        else:
            top.add(head)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in top or key in always:
            out[key] = value
        elif key in nested and isinstance(value, dict):
            out[key] = _select(value, nested[key], set())
        elif key in nested and isinstance(value, list):
            out[key] = [_select(v, nested[key], set()) if isinstance(v, dict) else v for v in value]
    return out


def project(
    result: dict[str, Any], fields: list[str] | None, list_key: str | None, keep: set[str]
) -> dict[str, Any]:
    """Keep only ``fields`` of the object and of each list item; ids and ``keep`` always stay."""
    if not fields:
        return result
    items = result.get(list_key) if list_key else None
    if list_key and isinstance(items, list):
        out = _select(result, fields, keep | {list_key} | _id_keys(result))
        out[list_key] = [_select(i, fields, _id_keys(i)) if isinstance(i, dict) else i for i in items]
        return out
    return _select(result, fields, keep | _id_keys(result))


def fit_items(result: dict[str, Any], list_key: str | None, max_bytes: int) -> int | None:
    """How many list items fit in ``max_bytes`` (None: everything fits or there is no list)."""
    if size_of(result) <= max_bytes:
        return None
    items = result.get(list_key) if list_key else None
    if not isinstance(items, list) or not items:
        return None
    budget = max_bytes - _RESERVE_BYTES - size_of({**result, list_key: []})
    kept, used = 0, 0
    for item in items:
        used += size_of(item) + 1  # the comma
        if used > budget:
            break
        kept += 1
    return kept


def drop_large_fields(
    result: dict[str, Any], max_bytes: int, keep: set[str]
) -> tuple[dict[str, Any], list[str]]:
    """For one object too large to send: drop its largest top-level values until it fits."""
    out = dict(result)
    omitted: list[str] = []
    for key in sorted(out, key=lambda k: size_of(out[k]), reverse=True):
        if size_of(out) <= max_bytes - _RESERVE_BYTES:
            break
        if key in keep or key == "id":
            continue
        del out[key]
        omitted.append(key)
    return out, omitted


def page_continuation(
    offset: int, delivered: int, max_limit: int, *, page_param: str = "page", size_param: str = "page_size"
) -> dict[str, int]:
    """Page arguments that resume exactly after ``offset + delivered`` items.

    Page numbering depends on the page size, so pick the largest size ≤ the count just delivered
    (it is known to fit) for which the next item starts a page.
    """
    position = offset + delivered
    size = 1
    for candidate in range(max(1, min(delivered, max_limit)), 0, -1):
        if position % candidate == 0:
            size = candidate
            break
    return {page_param: position // size + 1, size_param: size}
