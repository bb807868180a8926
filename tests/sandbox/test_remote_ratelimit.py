"""Remote's fixed window: 300/min per company shared by its tokens, headers on every response."""

from __future__ import annotations

import pytest

from tests.sandbox.remote_fixtures import bearer, client, make_app

pytestmark = pytest.mark.anyio


async def test_301st_request_in_a_minute_is_429_with_headers():
    app = make_app()
    async with client(app) as c:
        for i in range(300):
            response = await c.get("/v1/timeoff/types")
            assert response.status_code == 200, i
        assert response.headers["x-ratelimit-count"] == "300"
        assert response.headers["x-ratelimit-remaining"] == "0"
        limited = await c.get("/v1/timeoff/types")
        assert limited.status_code == 429
        assert limited.json() == {"message": "Too many requests"}
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert 0 < int(limited.headers["x-ratelimit-reset"]) <= 60_000
        assert "x-ratelimit-count" in limited.headers


async def test_tokens_of_one_company_share_the_budget_and_window_resets():
    app = make_app(rate_limit=4, window_seconds=10)
    clock = app.state.sandbox.settings.clock
    async with client(app) as c:
        first = await c.get("/v1/countries")
        assert first.headers["x-ratelimit-reset"] == "10000"
        clock.advance(2.5)
        await c.get("/v1/countries", headers=bearer("acme_second_token"))
        await c.get("/v1/countries")
        fourth = await c.get("/v1/countries", headers=bearer("acme_second_token"))
        assert fourth.headers["x-ratelimit-count"] == "4"
        assert fourth.headers["x-ratelimit-reset"] == "7500"
        assert (await c.get("/v1/countries", headers=bearer("acme_second_token"))).status_code == 429
        # Another company has its own budget.
        assert (await c.get("/v1/countries", headers=bearer("globex"))).status_code == 200
        clock.advance(7.5)
        fresh = await c.get("/v1/countries")
        assert fresh.status_code == 200 and fresh.headers["x-ratelimit-count"] == "1"


async def test_errors_carry_rate_limit_headers():
    app = make_app()
    async with client(app) as c:
        missing = await c.get("/v1/employments/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
        assert missing.headers["x-ratelimit-count"] == "1"
