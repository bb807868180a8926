"""Fault injection semantics that exactly-once tests depend on."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops_mcp.sandbox.common import (
    FaultInjector,
    FaultSettings,
    RequestLogMiddleware,
    SandboxState,
    SimulatedDisconnect,
    sandbox_routes,
)

pytestmark = pytest.mark.anyio


def make_app(faults: FaultSettings) -> tuple[Starlette, SandboxState, list[int]]:
    state = SandboxState(faults=faults)
    effects: list[int] = []

    async def create(request: Request) -> JSONResponse:
        effects.append(1)
        return JSONResponse({"id": len(effects), "padding": "x" * 40}, status_code=201)

    app = Starlette(
        routes=[Route("/things", create, methods=["POST"]), *sandbox_routes(state)],
        middleware=[
            Middleware(FaultInjector, settings_getter=lambda: state.faults, on_fault=state.fault_log.append),
            Middleware(RequestLogMiddleware, state=state),
        ],
    )
    return app, state, effects


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sandbox")


async def test_error_fault_has_no_side_effect() -> None:
    app, state, effects = make_app(FaultSettings(error_rate=1, seed=1))
    async with client(app) as c:
        r = await c.post("/things", headers={"Idempotency-Key": "k1"})
    assert r.status_code in (500, 503)
    assert effects == [] and state.requests == []
    assert state.fault_counts() == {"error": 1}


async def test_drop_fault_runs_request_then_breaks_connection() -> None:
    app, state, effects = make_app(FaultSettings(drop_rate=1))
    async with client(app) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/things", headers={"Idempotency-Key": "k2"})
    assert effects == [1]
    assert state.requests[0] == ("POST", "/things", 201, "k2")
    assert issubclass(SimulatedDisconnect, httpx.TransportError)


async def test_truncate_and_non_json_faults_run_the_request() -> None:
    app, state, effects = make_app(FaultSettings(truncate_rate=1))
    async with client(app) as c:
        r = await c.post("/things")
        assert r.status_code == 201
        assert int(r.headers["content-length"]) == len(r.content)
        with pytest.raises(json.JSONDecodeError):
            r.json()
        state.faults = FaultSettings(non_json_rate=1)
        r = await c.post("/things")
        assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert effects == [1, 1]
    assert state.fault_counts() == {"truncate": 1, "non_json": 1}


async def test_rates_are_seeded_and_sandbox_routes_never_faulted() -> None:
    app, state, effects = make_app(FaultSettings(error_rate=0.5, seed=7))
    async with client(app) as c:
        statuses = [(await c.post("/things")).status_code for _ in range(40)]
        errors = statuses.count(500) + statuses.count(503)
        assert 8 < errors < 32
        assert state.fault_counts()["error"] == errors
        assert len(effects) == 40 - errors
        r = await c.put("/_sandbox/faults", json={"error_rate": 1})
        assert r.status_code == 200 and r.json()["faults"]["error_rate"] == 1
        assert (await c.get("/_sandbox/requests")).status_code == 200
        assert (await c.put("/_sandbox/faults", json={"error_rate": 3})).status_code == 422
        assert (await c.delete("/_sandbox/requests")).status_code == 204
        assert state.requests == []


async def test_timeout_and_latency_delay_then_execute() -> None:
    app, state, effects = make_app(FaultSettings(timeout_rate=1, timeout_seconds=0.05, latency_ms=10))
    async with client(app) as c:
        r = await c.post("/things")
    assert r.status_code == 201 and effects == [1]
    assert state.fault_counts() == {"latency": 1, "timeout": 1}


async def test_per_request_draws_do_not_depend_on_arrival_order() -> None:
    """With ``per_request``, a request meets the same fault whatever arrives around it; a repeat draws afresh."""
    settings = FaultSettings(error_rate=0.3, drop_rate=0.2, non_json_rate=0.2, seed=11, per_request=True)
    bodies = [json.dumps({"n": i}).encode() for i in range(30)]

    async def run(order: list[int]) -> dict[tuple[str, int], str]:
        app, state, _ = make_app(settings)
        async with client(app) as c:
            for i in order:
                for _ in range(2):  # each request twice: its first and its second arrival
                    with contextlib.suppress(SimulatedDisconnect):
                        await c.post("/things", content=bodies[i])
        return {(f.request, f.attempt): f.kind for f in state.fault_log}

    forward = await run(list(range(30)))
    backward = await run(list(range(29, -1, -1)))
    assert forward == backward
    assert {attempt for _, attempt in forward} == {0, 1}  # repeats were drawn again, as their own arrival
    assert len({request for request, _ in forward}) > 10 and set(forward.values()) == {"error", "drop", "non_json"}
    with pytest.raises(ValueError, match="per_request"):
        settings.updated({"per_request": "yes"})
