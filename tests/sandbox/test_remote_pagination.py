"""Page/page_size pagination edges."""

from __future__ import annotations

import pytest

from tests.sandbox.remote_fixtures import client, make_app, records

pytestmark = pytest.mark.anyio


async def test_pages_cover_every_employment_once():
    app = make_app()
    total = len(records(app, "employments"))
    seen: list[str] = []
    async with client(app) as c:
        page = 1
        while True:
            data = (await c.get("/v1/employments", params={"page": page, "page_size": 7})).json()["data"]
            assert data["current_page"] == page and data["total_count"] == total
            assert data["total_pages"] == -(-total // 7)
            seen += [e["id"] for e in data["employments"]]
            if page == data["total_pages"]:
                assert 0 < len(data["employments"]) <= 7  # the last page holds the remainder
                break
            page += 1
    assert len(seen) == len(set(seen)) == total


async def test_page_beyond_end_is_empty():
    app = make_app()
    async with client(app) as c:
        data = (await c.get("/v1/employments", params={"page": 999})).json()["data"]
        assert data["employments"] == [] and data["current_page"] == 999 and data["total_count"] > 0


async def test_page_size_bounds():
    app = make_app()
    async with client(app) as c:
        default = (await c.get("/v1/timeoff")).json()["data"]
        assert len(default["timeoffs"]) == 20
        hundred = await c.get("/v1/timeoff", params={"page_size": 100})
        assert hundred.status_code == 200 and len(hundred.json()["data"]["timeoffs"]) == 100
        too_big = await c.get("/v1/timeoff", params={"page_size": 101})
        assert too_big.status_code == 422 and "page_size" in too_big.json()["errors"]
        zero = await c.get("/v1/timeoff", params={"page": 0})
        assert zero.status_code == 422 and "page" in zero.json()["errors"]
        junk = await c.get("/v1/timeoff", params={"page_size": "ten"})
        assert junk.status_code == 422
