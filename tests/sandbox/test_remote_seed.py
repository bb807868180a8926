"""Seed data: deterministic, realistic enough to paginate and to exercise every status.

(How long seeding takes is not asserted here — no wall-clock checks in tests; a loaded machine made this
one fail. Seeding runs once per process and is kept in ``sandbox/common/seed_copies.py``.)"""

from __future__ import annotations

from datetime import date

import pytest

from ops_mcp.sandbox.remote.country_data import holidays
from ops_mcp.sandbox.remote.seed import build_seed
from tests.sandbox.remote_fixtures import client, make_app

pytestmark = pytest.mark.anyio


def test_seed_is_deterministic_and_complete():
    data = build_seed(7, date(2026, 6, 15))
    assert data == build_seed(7, date(2026, 6, 15))
    assert build_seed(8, date(2026, 6, 15))["employments"].keys() != data["employments"].keys()
    employments = list(data["employments"].values())
    assert len(data["companies"]) >= 2 and len(employments) >= 150
    assert len({e["country"]["code"] for e in employments}) >= 8
    assert {"active", "created", "invited", "review", "archived"} <= {e["status"] for e in employments}
    assert any(e["type"] == "contractor" for e in employments)
    assert {t["status"] for t in data["timeoffs"].values()} == {
        "requested", "approved", "declined", "cancelled", "cancel_requested", "taken"}
    assert {t["status"] for t in data["timesheets"].values()} == {
        "open", "submitted", "approved", "in_calibration", "processed"}
    assert len({i["status"] for i in data["invoices"].values()}) >= 8
    assert data["amendments"] and data["schedules"] and data["billing_documents"]


def test_holidays_follow_each_country():
    assert {"day": "2026-04-03", "name": "Good Friday", "note": None, "observed_day": "2026-04-03"} in \
        holidays("PRT", 2026)
    thanksgiving = next(h for h in holidays("USA", 2026) if h["name"] == "Thanksgiving Day")
    assert thanksgiving["day"] == "2026-11-26"
    boxing = next(h for h in holidays("GBR", 2027) if h["name"] == "Boxing Day")
    assert boxing["observed_day"] == "2027-12-27"  # a Sunday, observed on Monday


async def test_holidays_and_calendars_endpoints():
    app = make_app()
    async with client(app) as c:
        for code in ("PRT", "DEU", "FRA", "USA", "GBR", "ESP", "NLD", "BRA"):
            for year in (2026, 2027):
                days = (await c.get(f"/v1/countries/{code}/holidays/{year}")).json()["data"]
                assert days and all(d["day"].startswith(str(year)) for d in days)
        eor = (await c.get("/v1/payroll-calendars", params={"country_code": "DEU", "year": 2027})).json()["data"]
        assert eor["total_count"] == 1 and len(eor["payroll_calendars"][0]["cycles"]) == 12
        company = (await c.get("/v1/payroll-calendars/2026-07")).json()["data"]["payroll_calendars"]
        assert company and all(cycle["start_date"].startswith("2026-07") for cal in company for cycle in cal["cycles"])
        assert (await c.get("/v1/payroll-calendars/2026-13")).status_code == 422


async def test_state_persists_to_sqlite(tmp_path):
    path = str(tmp_path / "remote.sqlite")
    app = make_app(persistence_path=path)
    async with client(app) as c:
        created = await c.post("/v1/company-managers", json={"name": "Ann", "email": "ann@acme.example",
                                                             "role": "admin"})
        user_id = created.json()["company_manager"]["user_id"]
    again = make_app(persistence_path=path)
    assert user_id in again.state.sandbox.data["managers"]
