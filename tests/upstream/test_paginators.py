"""One paginator per style: start, next page, walk sizes and exact resume points, from the profile."""

from __future__ import annotations

from typing import Any

import pytest

from ops_mcp.catalogue.models import CursorPagination, PagePagination
from ops_mcp.upstream.paginators import (
    CursorPaginator,
    FetchedPage,
    PageInfo,
    PagePaginator,
    paginator_for,
)

# Non-default names throughout: nothing may assume Remote's or RemoteOps' spelling.
PAGES = PagePagination(style="page", page_param="p", size_param="per", max_limit=50,
                       current_page_field="at", total_pages_field="of", total_count_field="n")
CURSORS = CursorPagination(style="cursor", limit_param="take", cursor_param="after", max_limit=100,
                           has_more_field="more", next_cursor_field="next_after")


def test_the_style_is_chosen_once_from_the_profile():
    assert isinstance(paginator_for(PAGES), PagePaginator)
    assert isinstance(paginator_for(CURSORS), CursorPaginator)
    assert paginator_for(PAGES).fields == {"at", "of", "n"}
    assert paginator_for(CURSORS).fields == {"more", "next_after", "object"}


def test_page_style_starts_at_page_one_and_counts_to_the_last_page():
    pages = paginator_for(PAGES)
    assert pages.start_args({}) == {"p": 1}
    assert pages.start_args({"p": "3", "per": "20"}) == {"p": 3, "per": 20}
    assert pages.page_info({"at": 2, "of": 5, "n": 90}, 20) == PageInfo(True, {"p": 3, "per": 20}, 90)
    assert pages.page_info({"at": 5, "of": 5}, 20) == PageInfo(False, None, None)
    assert pages.walk_size(20, 7) == 20  # page numbers depend on the size: it never changes mid-walk


def test_cursor_style_follows_the_cursor_only_while_there_is_more():
    cursors = paginator_for(CURSORS)
    assert cursors.start_args({"after": "c1", "take": "10", "q": "x"}) == {"after": "c1", "take": 10}
    assert cursors.page_info({"more": True, "next_after": "c2"}, 10) == PageInfo(True, {"after": "c2", "take": 10}, None)
    assert cursors.page_info({"more": True, "next_after": None}, 10) == PageInfo(False, None, None)
    assert cursors.walk_size(100, 30) == 30  # the last page asks only for what is still wanted


@pytest.mark.anyio
async def test_page_style_resumes_exactly_after_the_last_item_kept():
    pages = paginator_for(PAGES)

    async def never(args: dict[str, Any]) -> None:
        raise AssertionError("page arithmetic needs no request")

    resume = await pages.continuation([FetchedPage({"p": 3, "per": 20}, 20)], 10, never)
    assert resume is not None and (resume["p"] - 1) * resume["per"] == 40 + 10
    out = {"at": 3}
    pages.mark_cut(out, resume)
    assert out == {"at": 3}  # page fields describe the page fetched; `next` is the resume point


@pytest.mark.anyio
async def test_cursor_style_asks_the_back_end_for_a_cursor_after_the_last_item_kept():
    cursors = paginator_for(CURSORS)
    asked: list[dict[str, Any]] = []

    async def refetch(args: dict[str, Any]) -> dict[str, Any]:
        asked.append(args)
        return {"more": True, "next_after": "c-after-7"}

    pages = [FetchedPage({"take": 5}, 5), FetchedPage({"after": "c5", "take": 5}, 5)]
    resume = await cursors.continuation(pages, 7, refetch)
    assert asked == [{"after": "c5", "take": 2}]  # the page where the cut falls, up to the cut
    assert resume == {"after": "c-after-7", "take": 2}
    out: dict[str, Any] = {}
    cursors.mark_cut(out, resume)
    assert out == {"next_after": "c-after-7", "more": True}


@pytest.mark.anyio
async def test_cursor_style_without_an_answer_resumes_at_the_page_that_was_cut():
    cursors = paginator_for(CURSORS)

    async def failed(args: dict[str, Any]) -> None:
        return None

    pages = [FetchedPage({"take": 5}, 5), FetchedPage({"after": "c5", "take": 5}, 5)]
    assert await cursors.continuation(pages, 7, failed) == {"after": "c5", "take": 2}
    assert await cursors.continuation(pages, 5, failed) == {"after": "c5", "take": 5}
    assert await cursors.continuation(pages, 10, failed) is None
