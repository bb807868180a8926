"""List results: following pages for ``max_items``, and fitting any result into the size cap.

A cut list always says how to continue (``next``: the exact arguments that resume after the last
item delivered), in the back end's own pagination style. A single object too large to send loses
its largest fields, and says which.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..catalogue.models import Endpoint
from .outcome import Answer, CallFailed
from .paginators import FetchedPage, Paginator
from .request import PreparedRequest
from .shaping import drop_large_fields, fit_items, project, size_of, unwrap

Progress = Callable[[float, "float | None", str], Awaitable[None]]
# Sends one page request through the attempt pipeline; raises CallFailed when no answer was had.
FetchPage = Callable[[PreparedRequest], Awaitable[Answer]]
# The error for a page that was answered with a failure status.
AnswerError = Callable[[Answer], CallFailed]

# Keys the client adds to results; projections keep them.
_OWN_KEYS = frozenset({"truncated", "next", "omitted_fields"})


def project_fields(
    data: dict[str, Any], fields: object, list_key: str | None, paginator: Paginator
) -> dict[str, Any]:
    """Keep only ``fields`` (ids and pagination always stay); anything but a list of names keeps all."""
    if not fields or not isinstance(fields, list):
        return data
    return project(data, [str(f) for f in fields], list_key, set(paginator.fields | _OWN_KEYS))


def fit_object(data: dict[str, Any], list_key: str | None, max_bytes: int) -> dict[str, Any]:
    if size_of(data) <= max_bytes:
        return data
    kept = fit_items(data, list_key, max_bytes)
    if kept is not None and list_key:
        dropped = len(data[list_key]) - kept
        return {
            **data,
            list_key: data[list_key][:kept],
            "truncated": True,
            "next": f"{dropped} more items were left out; ask with `fields` to get fewer fields per item",
        }
    out, omitted = drop_large_fields(data, max_bytes, set())
    return {
        **out,
        "truncated": True,
        "omitted_fields": omitted,
        "next": "ask for the omitted fields with `fields` to get them",
    }


class Listing:
    """One list call: its pages, fetched through ``fetch`` and fitted into ``max_bytes``."""

    def __init__(
        self,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        paginator: Paginator,
        fetch: FetchPage,
        failure: AnswerError,
        *,
        max_bytes: int,
        max_pages: int,
    ) -> None:
        self.endpoint = endpoint
        self.prepared = prepared
        self.paginator = paginator
        self.list_key = endpoint.response.list_key or "data"
        self._fetch = fetch
        self._failure = failure
        self._max_bytes = max_bytes
        self._max_pages = max_pages

    def first_page(self, data: dict[str, Any]) -> list[FetchedPage]:
        """The one page a plain list call fetched."""
        start = self.paginator.start_args(self.prepared.params)
        return [FetchedPage(start, len(data.get(self.list_key) or []))]

    async def walk(self, max_items: int, progress: Progress | None, fields: object) -> tuple[int, dict[str, Any]]:
        """Follow pages until ``max_items`` items, the last page, or the size cap."""
        paginator, size_name = self.paginator, self.paginator.size_param
        requested = _int(self.prepared.params.get(size_name))
        page_size = min(paginator.max_limit, requested or max_items, max_items)
        items: list[Any] = []
        pages: list[FetchedPage] = []
        args = {**paginator.start_args(self.prepared.params), size_name: page_size}
        last: dict[str, Any] = {}
        status = 200
        fetched_bytes = 0
        for page_number in range(1, self._max_pages + 1):
            args[size_name] = paginator.walk_size(page_size, max_items - len(items))
            answer = await self._fetch(self.prepared.with_params(args))
            if answer.status >= 300:
                if not items:
                    raise self._failure(answer)
                break  # keep what we have; `next` tells how to resume
            status = answer.status
            last = unwrap(answer.body, self.endpoint.response)
            page_items = last.get(self.list_key) or []
            items.extend(page_items)
            pages.append(FetchedPage(dict(args), len(page_items)))
            fetched_bytes += size_of(page_items)
            info = paginator.page_info(last, args.get(size_name))
            if progress is not None:
                done = min(len(items), max_items)
                total = min(info.total, max_items) if info.total is not None else None
                await _report(progress, done, total, f"fetched page {page_number}: {done} items")
            if not info.has_more or not page_items or len(items) >= max_items or info.next_args is None:
                break
            if fetched_bytes > self._max_bytes:
                break  # more would be dropped by the size cap anyway
            args = {**args, **info.next_args}
        merged = project_fields({**last, self.list_key: items}, fields, self.endpoint.response.list_key, paginator)
        return status, await self.fit(merged, pages, max_items=max_items)

    async def fit(
        self, result: dict[str, Any], pages: Sequence[FetchedPage], *, max_items: int | None = None
    ) -> dict[str, Any]:
        """Apply ``max_items`` and the byte cap to a list result; say how to continue when cut."""
        list_key = self.list_key
        items = result.get(list_key) or []
        keep = len(items) if max_items is None else min(len(items), max_items)
        fitted = fit_items({**result, list_key: items[:keep]}, list_key, self._max_bytes)
        if fitted is not None:
            keep = fitted
        if keep == len(items):
            if len(pages) > 1 or max_items is not None:
                page_size = pages[-1].args.get(self.paginator.size_param) if pages else None
                info = self.paginator.page_info(result, page_size)
                if info.next_args is not None:
                    result = {**result, "next": info.next_args}
            return result
        out = {**result, list_key: items[:keep]}
        if fitted is not None:
            out["truncated"] = True
        out["next"] = await self.paginator.continuation(list(pages), keep, self._refetch)
        # Page fields describe the last page fetched and `next` is the exact resume point; a
        # cursor style's own fields are pointed at `next`.
        self.paginator.mark_cut(out, out["next"])
        return out

    async def _refetch(self, args: dict[str, Any]) -> dict[str, Any] | None:
        try:
            answer = await self._fetch(self.prepared.with_params(args))
        except CallFailed:
            return None
        return unwrap(answer.body, self.endpoint.response) if answer.status < 300 else None


async def _report(progress: Progress, done: int, total: int | None, message: str) -> None:
    # Progress is best effort: a client that went away must not fail the call.
    with contextlib.suppress(Exception):
        await progress(float(done), float(total) if total is not None else None, message)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
