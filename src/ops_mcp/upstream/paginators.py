"""Native pagination, one paginator per style, chosen once per back end from its profile.

A paginator knows its style's arguments and result fields: where a listing starts, where the next
page is, which keys describe pagination (so projections keep them), and how to resume exactly
after the last item delivered when a result had to be cut.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..catalogue.models import CursorPagination, PagePagination
from ..records import Frozen, set_fields
from .shaping import page_continuation


class PageInfo(Frozen):
    __slots__ = ("has_more", "next_args", "total")
    has_more: bool
    next_args: dict[str, Any] | None  # arguments for the page after this one
    total: int | None  # items in the whole listing, when the back end says

    def __init__(self, has_more: bool, next_args: dict[str, Any] | None, total: int | None) -> None:
        set_fields(self, has_more=has_more, next_args=next_args, total=total)


class FetchedPage(Frozen):
    __slots__ = ("args", "item_count")
    args: dict[str, Any]  # the pagination arguments that fetched it
    item_count: int

    def __init__(self, args: dict[str, Any], item_count: int) -> None:
        set_fields(self, args=args, item_count=item_count)


# Fetches one page with the given pagination arguments: its unwrapped result, or None on failure.
Refetch = Callable[[dict[str, Any]], Awaitable["dict[str, Any] | None"]]


class Paginator(ABC):
    size_param: str
    max_limit: int
    fields: frozenset[str]  # top-level result keys that describe pagination

    @abstractmethod
    def start_args(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The pagination arguments of the page a request asks for."""

    @abstractmethod
    def page_info(self, result: Mapping[str, Any], page_size: int | None) -> PageInfo:
        """What a page says about the rest of the listing."""

    @abstractmethod
    def walk_size(self, page_size: int, still_wanted: int) -> int:
        """The size to ask for on the next page of a ``max_items`` walk."""

    @abstractmethod
    async def continuation(self, pages: list[FetchedPage], keep: int, refetch: Refetch) -> dict[str, Any] | None:
        """Arguments that resume right after the first ``keep`` items of ``pages``."""

    @abstractmethod
    def mark_cut(self, result: dict[str, Any], next_args: Mapping[str, Any] | None) -> None:
        """Make a cut result's own pagination fields agree with ``next_args``, its resume point."""


class PagePaginator(Paginator):
    def __init__(self, style: PagePagination) -> None:
        self.style = style
        self.size_param = style.size_param
        self.max_limit = style.max_limit
        self.fields = frozenset({style.current_page_field, style.total_pages_field, style.total_count_field})

    def start_args(self, params: Mapping[str, str]) -> dict[str, Any]:
        page = self.style.page_param
        out: dict[str, Any] = {page: _int(params.get(page)) or 1}
        if self.size_param in params:
            out[self.size_param] = _int(params[self.size_param])
        return out

    def page_info(self, result: Mapping[str, Any], page_size: int | None) -> PageInfo:
        current = _int(result.get(self.style.current_page_field))
        pages = _int(result.get(self.style.total_pages_field))
        total = _int(result.get(self.style.total_count_field))
        if current is None or pages is None or current >= pages:
            return PageInfo(False, None, total)
        next_args: dict[str, Any] = {self.style.page_param: current + 1}
        if page_size:
            next_args[self.size_param] = page_size
        return PageInfo(True, next_args, total)

    def walk_size(self, page_size: int, still_wanted: int) -> int:
        return page_size  # page numbers depend on the size, so it stays the same for the whole walk

    async def continuation(self, pages: list[FetchedPage], keep: int, refetch: Refetch) -> dict[str, Any] | None:
        if not pages:
            return None
        first = pages[0]
        # Without an explicit size, a truncated first page was a full one of the default size.
        size = _int(first.args.get(self.size_param)) or first.item_count or 1
        page = _int(first.args.get(self.style.page_param)) or 1
        return page_continuation(
            (page - 1) * size, keep, self.max_limit, page_param=self.style.page_param, size_param=self.size_param
        )

    def mark_cut(self, result: dict[str, Any], next_args: Mapping[str, Any] | None) -> None:
        pass  # the page fields describe the last page fetched; `next` is the exact resume point


class CursorPaginator(Paginator):
    def __init__(self, style: CursorPagination) -> None:
        self.style = style
        self.size_param = style.limit_param
        self.max_limit = style.max_limit
        self.fields = frozenset({style.has_more_field, style.next_cursor_field, "object"})

    def start_args(self, params: Mapping[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.style.cursor_param in params:
            out[self.style.cursor_param] = params[self.style.cursor_param]
        if self.size_param in params:
            out[self.size_param] = _int(params[self.size_param])
        return out

    def page_info(self, result: Mapping[str, Any], page_size: int | None) -> PageInfo:
        cursor = result.get(self.style.next_cursor_field)
        if not (result.get(self.style.has_more_field) and cursor):
            return PageInfo(False, None, None)
        next_args: dict[str, Any] = {self.style.cursor_param: cursor}
        if page_size:
            next_args[self.size_param] = page_size
        return PageInfo(True, next_args, None)

    def walk_size(self, page_size: int, still_wanted: int) -> int:
        return min(page_size, still_wanted)

    async def continuation(self, pages: list[FetchedPage], keep: int, refetch: Refetch) -> dict[str, Any] | None:
        # Find the page where the cut falls and ask the back end for a cursor right after the last
        # item kept (a cursor is opaque, so only the server can make one).
        seen = 0
        for page in pages:
            if keep < seen + page.item_count:
                kept_here = keep - seen
                start = {k: v for k, v in page.args.items() if k != self.size_param}
                if kept_here == 0:
                    return {**start, self.size_param: max(1, page.item_count)}
                again = await refetch({**start, self.size_param: kept_here})
                if again is not None:
                    info = self.page_info(again, None)
                    if info.next_args:
                        return {**info.next_args, self.size_param: kept_here}
                return {**start, self.size_param: kept_here}
            seen += page.item_count
        return None

    def mark_cut(self, result: dict[str, Any], next_args: Mapping[str, Any] | None) -> None:
        if next_args and self.style.cursor_param in next_args:
            result[self.style.next_cursor_field] = next_args[self.style.cursor_param]
            result[self.style.has_more_field] = True


def paginator_for(style: PagePagination | CursorPagination) -> Paginator:
    if isinstance(style, PagePagination):
        return PagePaginator(style)
    return CursorPaginator(style)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
