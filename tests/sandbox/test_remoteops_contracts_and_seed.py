"""Contracts (status from dates, visit generation, billing cycles) and the seeded data set."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app

from .helpers_remoteops import conforms, first

pytestmark = pytest.mark.anyio


async def test_generate_work_orders_is_idempotent(nw) -> None:  # type: ignore[no-untyped-def]
    contract = await first(nw, "/contracts", status="active")
    through = (date.today() + timedelta(days=200)).isoformat()
    r1 = await nw.post(f"/contracts/{contract['id']}/generate-work-orders", json={"through_date": through})
    assert r1.status_code == 200, r1.text
    conforms(r1, "/contracts/{contract_id}/generate-work-orders", "POST")
    created = r1.json()["created_work_order_ids"]
    assert created
    r2 = await nw.post(f"/contracts/{contract['id']}/generate-work-orders", json={"through_date": through})
    assert r2.json()["created_work_order_ids"] == [] and r2.json()["skipped_visit_count"] >= len(created)
    wo = (await nw.get(f"/work-orders/{created[0]}")).json()
    assert wo["origin"] == {"type": "contract", "call_id": None, "contract_id": contract["id"]}
    assert wo["billable"] is False
    too_far = (date.today() + timedelta(days=400)).isoformat()
    r = await nw.post(f"/contracts/{contract['id']}/generate-work-orders", json={"through_date": too_far})
    assert r.status_code == 422


async def test_contract_create_patch_and_cycles(nw) -> None:  # type: ignore[no-untyped-def]
    site = await first(nw, "/sites")
    start = date.today() - timedelta(days=10)
    r = await nw.post("/contracts", json={
        "customer_id": site["customer_id"], "site_id": site["id"], "start_date": start.isoformat(), "term_months": 12,
        "billing": {"cycle": "quarterly", "amount": 90000, "currency": "EUR"},
        "visit_schedule": {"frequency": "quarterly", "work_type": "maintenance", "duration_minutes": 90}})
    assert r.status_code == 201, r.text
    conforms(r, "/contracts", "POST")
    contract = r.json()
    assert contract["status"] == "active" and len(contract["upcoming_visits"]) >= 3
    cycles = (await nw.get(f"/contracts/{contract['id']}/billing-cycles")).json()["data"]
    assert [c["amount"] for c in cycles] == [90000] * 4
    r = await nw.patch(f"/contracts/{contract['id']}", json={"billing": {"amount": 120000}},
                       headers={"If-Match": f'"{contract["version"]}"'})
    assert r.status_code == 200, r.text
    cycles = (await nw.get(f"/contracts/{contract['id']}/billing-cycles")).json()["data"]
    assert cycles[0]["amount"] == 90000 and cycles[1]["amount"] == 120000


async def test_calls_transcripts_and_recordings(nw) -> None:  # type: ignore[no-untyped-def]
    calls = (await nw.get("/calls", params={"limit": 100})).json()["data"]
    ready = next(c for c in calls if c["transcript_status"] == "ready")
    r = await nw.get(f"/calls/{ready['id']}/transcript")
    assert r.status_code == 200 and r.json()["segments"]
    conforms(r, "/calls/{call_id}/transcript", "GET")
    pending = next(c for c in calls if c["transcript_status"] == "pending")
    r = await nw.get(f"/calls/{pending['id']}/transcript")
    assert r.status_code == 404 and r.json()["code"] == "transcript-not-ready"
    r = await nw.get(f"/calls/{ready['id']}/recording")
    assert r.status_code == 200 and "signature=" in r.json()["url"]
    matched = (await nw.get("/calls", params={"limit": 100, "has_work_order": "true"})).json()["data"]
    assert matched and all(c["work_order_ids"] for c in matched)
    voice = next(c for c in calls if c["asset_match"] and c["asset_match"]["method"] == "asset_line")
    assert voice["asset_match"]["confidence"] == 1.0


def test_seed_is_deterministic_and_realistic() -> None:
    # How fast seeding is belongs to the benchmarks, not to a test.
    a = create_remoteops_app(RemoteOpsSandboxSettings(seed_date=date(2025, 3, 1))).state.sandbox
    b = create_remoteops_app(RemoteOpsSandboxSettings(seed_date=date(2025, 3, 1))).state.sandbox
    for tenant_id, tenant in a.tenants.items():
        assert sorted(tenant.col("work_orders")) == sorted(b.tenants[tenant_id].col("work_orders"))
        wos = list(tenant.col("work_orders").values())
        assert len(wos) >= 300
        assert {w["status"] for w in wos} == {"new", "scheduled", "dispatched", "in_progress", "on_hold",
                                               "completed", "closed", "cancelled"}
        assert len(tenant.col("customers")) >= 40
        sites_per_customer: dict[str, int] = {}
        for site in tenant.col("sites").values():
            sites_per_customer[site["customer_id"]] = sites_per_customer.get(site["customer_id"], 0) + 1
        assert max(sites_per_customer.values()) >= 10
        assert {i["status"] for i in tenant.col("invoices").values()} == {"draft", "open", "paid", "void"}
        assert {loc["type"] for loc in tenant.col("locations").values()} == {"warehouse", "van"}
        assert {a_["ownership"] for a_ in tenant.col("assets").values()} == {"customer", "company"}
        assert tenant.col("transcripts") and tenant.col("credit_notes") and tenant.col("events")
