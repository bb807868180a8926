"""Native pagination of each back end, read from its profile: where the next page is, how many
items exist, and which arguments resume a listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalogue.models import CursorPagination, PagePagination

Pagination = PagePagination | CursorPagination


@dataclass(frozen=True)
class PageInfo:
    has_more: bool
    next_args: dict[str, Any] | None  # arguments for the page after this one
    total: int | None  # items in the whole listing, when the back end says


def pagination_fields(pagination: Pagination) -> set[str]:
    """Top-level result keys that describe pagination (kept by every projection)."""
    if isinstance(pagination, PagePagination):
        return {pagination.current_page_field, pagination.total_pages_field, pagination.total_count_field}
    return {pagination.has_more_field, pagination.next_cursor_field, "object"}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def page_info(result: dict[str, Any], pagination: Pagination, page_size: int | None) -> PageInfo:
    if isinstance(pagination, PagePagination):
        current = _int(result.get(pagination.current_page_field))
        pages = _int(result.get(pagination.total_pages_field))
        total = _int(result.get(pagination.total_count_field))
        has_more = current is not None and pages is not None and current < pages
        next_args = None
        if has_more:
            next_args = {pagination.page_param: current + 1}
            if page_size:
                next_args[pagination.size_param] = page_size
        return PageInfo(has_more, next_args, total)
    has_more = bool(result.get(pagination.has_more_field))
    cursor = result.get(pagination.next_cursor_field)
    next_args = None
    if has_more and cursor:
        next_args = {pagination.cursor_param: cursor}
        if page_size:
            next_args[pagination.limit_param] = page_size
    return PageInfo(has_more and bool(cursor), next_args, None)


def size_param(pagination: Pagination) -> str:
    return pagination.size_param if isinstance(pagination, PagePagination) else pagination.limit_param
