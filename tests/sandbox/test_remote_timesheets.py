"""Timesheet approve (submitted only) and send-back (submitted → in_calibration)."""

from __future__ import annotations

import pytest

from tests.sandbox.remote_fixtures import client, make_app, records

pytestmark = pytest.mark.anyio


async def test_approve_and_send_back():
    app = make_app()
    submitted = [r["id"] for r in records(app, "timesheets", status="submitted")]
    async with client(app) as c:
        approved = await c.post(f"/v1/timesheets/{submitted[0]}/approve")
        assert approved.status_code == 200
        minimal = approved.json()["data"]["timesheet"]
        assert minimal["status"] == "approved" and "regular_hours" not in minimal
        assert (await c.post(f"/v1/timesheets/{submitted[0]}/approve")).status_code == 409
        assert (await c.post(f"/v1/timesheets/{submitted[0]}/send-back",
                             json={"sent_back_reason": "x"})).status_code == 409

        no_reason = await c.post(f"/v1/timesheets/{submitted[1]}/send-back", json={})
        assert no_reason.status_code == 422
        sent = await c.post(f"/v1/timesheets/{submitted[1]}/send-back", json={"sent_back_reason": "Split overtime"})
        assert sent.json() == {"data": {"timesheet": {"id": submitted[1], "status": "in_calibration",
                                                      "sent_back": True, "sent_back_reason": "Split overtime"}}}
        assert (await c.post(f"/v1/timesheets/{submitted[1]}/approve")).status_code == 409
        for status in ("open", "processed"):
            other = records(app, "timesheets", status=status)[0]["id"]
            assert (await c.post(f"/v1/timesheets/{other}/approve")).status_code == 409


async def test_list_filter_and_sort():
    app = make_app()
    async with client(app) as c:
        data = (await c.get("/v1/timesheets", params={"status": "in_calibration"})).json()["data"]
        assert data["timesheets"] and {t["status"] for t in data["timesheets"]} == {"in_calibration"}
        rows = (await c.get("/v1/timesheets", params={"sort_by": "submitted_at", "order": "desc",
                                                        "page_size": 100})).json()["data"]["timesheets"]
        stamps = [t["submitted_at"] for t in rows if t["submitted_at"]]
        assert stamps == sorted(stamps, reverse=True)
        one = rows[0]["id"]
        shown = (await c.get(f"/v1/timesheets/{one}")).json()["data"]["timesheet"]
        assert shown["total_hours"]["hours"] >= shown["regular_hours"]["hours"]
