"""Cross-cutting edges: auth and tenancy, rate limit, idempotency, pagination, problems."""

from __future__ import annotations

import pytest

from ops_mcp.sandbox.common.clock import ManualClock
from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app

from .helpers_remoteops import conforms, first, idem, new_work_order, ro_client

pytestmark = pytest.mark.anyio


async def test_live_key_and_missing_key_get_401(ro_app) -> None:  # type: ignore[no-untyped-def]
    async with ro_client(ro_app, "live_example") as client:
        r = await client.get("/work-orders")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert "live" in r.json()["detail"]
    conforms(r, "/work-orders", "GET")
    async with ro_client(ro_app, "rops_test_unknown") as client:
        assert (await client.get("/customers")).status_code == 401


async def test_read_only_key_gets_403_on_writes(ro_app) -> None:  # type: ignore[no-untyped-def]
    async with ro_client(ro_app, "northwind_readonly") as client:
        assert (await client.get("/work-orders")).status_code == 200
        r = await client.post("/customers", json={"type": "business", "name": "X"})
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"


async def test_other_tenants_ids_are_404(nw, cc) -> None:  # type: ignore[no-untyped-def]
    contoso_wo = await first(cc, "/work-orders")
    r = await nw.get(f"/work-orders/{contoso_wo['id']}")
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    conforms(r, "/work-orders/{work_order_id}", "GET")
    nw_ids = {w["id"] for w in (await nw.get("/work-orders", params={"limit": 100})).json()["data"]}
    assert contoso_wo["id"] not in nw_ids


async def test_rate_limit_sliding_window() -> None:
    clock = ManualClock(1_700_000_000)
    app = create_remoteops_app(RemoteOpsSandboxSettings(rate_limit=60, window_seconds=60, clock=clock))
    async with ro_client(app) as client:
        for i in range(60):
            r = await client.get("/technicians", params={"limit": 1})
            assert r.status_code == 200
            assert r.headers["x-ratelimit-remaining"] == str(59 - i)
            clock.advance(0.5)
        assert r.headers["ratelimit-policy"] == '"default";q=60;w=60'
        r = await client.get("/technicians")
        assert r.status_code == 429 and r.json()["code"] == "rate-limited"
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["x-ratelimit-remaining"] == "0" and r.headers["ratelimit"].startswith('"default";r=0;t=')
        assert int(r.headers["x-ratelimit-reset"]) >= clock.time()
        conforms(r, "/technicians", "GET")
        # the 429 did not count: once the oldest request leaves the window, one slot frees up
        clock.advance(30)
        assert (await client.get("/technicians")).status_code == 200
        assert (await client.get("/technicians")).status_code == 429
    async with ro_client(app, "contoso") as other:  # limits are per key
        assert (await other.get("/technicians")).status_code == 200


async def test_idempotency_replay_reuse_and_required(nw, ro_app) -> None:  # type: ignore[no-untyped-def]
    site = await first(nw, "/sites")
    body = {"customer_id": site["customer_id"], "site_id": site["id"], "summary": "Door sensor faulty"}
    key = idem()
    r1 = await nw.post("/work-orders", json=body, headers=key)
    r2 = await nw.post("/work-orders", json=body, headers=key)
    assert r1.status_code == r2.status_code == 201
    assert r2.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in r1.headers
    assert r1.json() == r2.json() and r1.headers["location"] == r2.headers["location"]
    conforms(r2, "/work-orders", "POST")
    state = ro_app.state.sandbox
    assert state.effects["work_order"] == 1
    r3 = await nw.post("/work-orders", json={**body, "summary": "Other"}, headers=key)
    assert r3.status_code == 422 and r3.json()["code"] == "idempotency-key-reused"
    r4 = await nw.post("/stock-movements", json={"type": "receive", "part_id": "part_x", "quantity": 1})
    assert r4.status_code == 400 and r4.json()["code"] == "idempotency-key-required"
    # a 404 produced after execution began is stored and replayed too
    k = idem()
    a = await nw.post("/work-orders/wo_missing/transitions", json={"to": "dispatched"}, headers=k)
    b = await nw.post("/work-orders/wo_missing/transitions", json={"to": "dispatched"}, headers=k)
    assert a.status_code == b.status_code == 404 and b.headers["idempotent-replayed"] == "true"
    records = [r for r in state.requests if r.idempotency_key == key["Idempotency-Key"]]
    assert [r.status for r in records] == [201, 201, 422]


async def test_cursor_paging_to_the_end_and_invalid_cursor(nw) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    params = {"limit": 100, "status": ["closed", "cancelled"]}
    r = await nw.get("/work-orders", params=params)
    while True:
        assert r.status_code == 200
        page = r.json()
        seen += [w["id"] for w in page["data"]]
        assert all(w["status"] in ("closed", "cancelled") for w in page["data"])
        if not page["has_more"]:
            assert page["next_cursor"] is None and "link" not in r.headers
            break
        assert 'rel="next"' in r.headers["link"]
        cursor = page["next_cursor"]
        r = await nw.get("/work-orders", params={**params, "cursor": cursor})
    assert len(seen) == len(set(seen)) > 100
    r = await nw.get("/work-orders", params={"limit": 5, "status": "new"})
    cursor = r.json()["next_cursor"]
    r = await nw.get("/work-orders", params={"limit": 5, "status": "closed", "cursor": cursor})
    assert r.status_code == 400 and r.json()["code"] == "invalid-cursor"
    conforms(r, "/work-orders", "GET")
    r = await nw.get("/work-orders", params={"cursor": "garbage"})
    assert r.status_code == 400 and r.json()["code"] == "invalid-cursor"
    r = await nw.get("/work-orders", params={"limit": 101})
    assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == "/query/limit"


async def test_problem_details_everywhere(nw) -> None:  # type: ignore[no-untyped-def]
    r = await nw.post("/customers", json={"type": "robot"})
    assert r.status_code == 422
    problem = r.json()
    assert {"type", "title", "status", "detail", "instance", "code", "request_id"} <= set(problem)
    assert {e["pointer"] for e in problem["errors"]} == {"/type", "/name"}
    r = await nw.post("/customers", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "bad-request"
    r = await nw.post("/customers", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = await nw.get("/nothing-here")
    assert r.status_code == 404 and r.headers["request-id"].startswith("req_")
    wo = await new_work_order(nw)
    r = await nw.get(f"/work-orders/{wo['id']}")
    assert r.headers["etag"] == '"1"' and r.headers["request-id"]


async def test_in_flight_key_answers_409_with_retry_after(nw, ro_app) -> None:  # type: ignore[no-untyped-def]
    from ops_mcp.sandbox.remoteops.idempotency import fingerprint

    body = b'{"type": "individual", "name": "Busy"}'
    scope = ("ten_northwind", "POST", "/remoteops/v1/customers", "key-in-flight")
    ro_app.state.sandbox.idempotency.begin(scope, fingerprint(body))  # a first request still running
    r = await nw.post("/customers", content=body, headers={"Idempotency-Key": "key-in-flight",
                                                           "content-type": "application/json"})
    assert r.status_code == 409 and r.json()["code"] == "idempotency-request-in-progress"
    assert r.headers["retry-after"] == "1"


async def test_state_persists_in_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "remoteops.sqlite")
    app = create_remoteops_app(RemoteOpsSandboxSettings(db_path=db))
    async with ro_client(app) as client:
        r = await client.post("/customers", json={"type": "business", "name": "Persisted GmbH"})
        assert r.status_code == 201
    reopened = create_remoteops_app(RemoteOpsSandboxSettings(db_path=db))
    async with ro_client(reopened) as client:
        assert (await client.get(f"/customers/{r.json()['id']}")).json()["name"] == "Persisted GmbH"
