"""A call cancelled while its request is in flight (the agent hung up, a stdio ``notifications/cancelled``)
hands its rate-budget slot back: the budget does not count it as in flight forever, which would make every
later estimate of the server's usage too high and, call by call, starve the tenant."""

from __future__ import annotations

import random

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops_mcp.upstream import Connection, UpstreamClient

from .virtual_time import VirtualTime

pytestmark = pytest.mark.anyio


def _hanging_upstream(arrived: anyio.Event, release: anyio.Event) -> Starlette:
    async def countries(request: Request) -> JSONResponse:
        arrived.set()
        await release.wait()
        return JSONResponse({"data": [{"code": "PRT"}]})

    return Starlette(routes=[Route("/v1/countries", countries)])


async def test_a_cancelled_call_hands_its_budget_slot_back(catalogue):
    arrived, release = anyio.Event(), anyio.Event()
    vt = VirtualTime()
    client = UpstreamClient(
        {}, catalogue=catalogue, transport=httpx.ASGITransport(_hanging_upstream(arrived, release)),
        clock=vt.time, sleep=vt.sleep, rng=random.Random(3),
    )
    connection = Connection(name="acme", backend="remote", base_url="http://upstream", token="ra_test_static_1")
    endpoint = catalogue["remote"].endpoint("remote_list_countries")
    async with client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.call, connection, endpoint, {})
            await arrived.wait()
            budget = client._wiring.budgets.get(
                connection.effective_budget_key, catalogue["remote"].backend.rate_limit, connection.per_minute
            )
            assert budget.in_flight == 1  # the request holds its slot while it is out
            group.cancel_scope.cancel()
        release.set()
        assert budget.in_flight == 0
        # The slot is usable again: a later call goes out and is answered.
        outcome = await client.call(connection, endpoint, {})
        assert outcome.ok and budget.in_flight == 0
