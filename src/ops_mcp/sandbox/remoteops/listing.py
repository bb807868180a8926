"""Shared list-endpoint reply: `{"object":"list","data":[…],"has_more","next_cursor"}` + `Link`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from ops_mcp.sandbox.remoteops.http import Ctx, Reply
from ops_mcp.sandbox.remoteops.pagination import Paginator
from ops_mcp.sandbox.remoteops.store import public


def list_reply(
    ctx: Ctx,
    items: Iterable[dict[str, Any]],
    *,
    sort: str = "-created_at",
    key: Callable[[dict[str, Any]], Any] | None = None,
    view: Callable[[dict[str, Any]], dict[str, Any]] = public,
    id_of: Callable[[dict[str, Any]], str] = lambda o: o["id"],
) -> Reply:
    limit = ctx.q_limit()
    ctx.check_query()
    cursor = ctx.query.get("cursor") or None
    field = sort.lstrip("-")
    key = key or (lambda o: o.get(field))
    # The cursor is bound to every other query parameter (filters and sort).
    filters = sorted((k, v) for k, v in ctx.query.multi_items() if k not in ("limit", "cursor"))
    fhash = Paginator.filter_hash(ctx.request.url.path, {"q": filters, "sort": sort})
    rows, next_cursor = ctx.state.paginator.page(list(items), sort=sort, key=key, fhash=fhash, limit=limit,
                                                 cursor=cursor, id_of=id_of)
    headers = {}
    if next_cursor:
        query = [(k, v) for k, v in ctx.query.multi_items() if k != "cursor"] + [("cursor", next_cursor)]
        headers["Link"] = f'<{ctx.request.url.replace(query=urlencode(query))}>; rel="next"'
    body = {"object": "list", "data": [view(r) for r in rows], "has_more": next_cursor is not None,
            "next_cursor": next_cursor}
    return Reply(body, headers=headers)
