"""Time-off state machine, create/update rules and list filters."""

from __future__ import annotations

import pytest

from tests.sandbox.remote_fixtures import client, make_app, manager_id, records

pytestmark = pytest.mark.anyio


def _one(app, status):
    return records(app, "timeoffs", status=status)[0]["id"]


async def test_approve_decline_cancel_transitions():
    app = make_app()
    approver = manager_id(app)
    async with client(app) as c:
        requested = _one(app, "requested")
        approved = await c.post(f"/v1/timeoff/{requested}/approve", json={"approver_id": approver})
        assert approved.status_code == 200 and approved.json()["data"]["timeoff"]["status"] == "approved"
        again = await c.post(f"/v1/timeoff/{requested}/approve", json={"approver_id": approver})
        assert again.status_code == 409 and "message" in again.json()
        declined_late = await c.post(f"/v1/timeoff/{requested}/decline", json={"decline_reason": "x"})
        assert declined_late.status_code == 409
        no_reason = await c.post(f"/v1/timeoff/{requested}/cancel", json={})
        assert no_reason.status_code == 422 and "cancel_reason" in no_reason.json()["errors"]
        cancelled = await c.post(f"/v1/timeoff/{requested}/cancel", json={"cancel_reason": "Trip cancelled"})
        assert cancelled.json()["data"]["timeoff"]["status"] == "cancelled"
        assert (await c.post(f"/v1/timeoff/{requested}/cancel", json={"cancel_reason": "x"})).status_code == 409

        other = records(app, "timeoffs", status="requested")[0]["id"]
        declined = await c.post(f"/v1/timeoff/{other}/decline", json={"decline_reason": "Coverage"})
        assert declined.json()["data"]["timeoff"]["status"] == "declined"
        assert (await c.post(f"/v1/timeoff/{other}/approve", json={"approver_id": approver})).status_code == 409

        direct = records(app, "timeoffs", status="requested")[0]["id"]
        straight = await c.post(f"/v1/timeoff/{direct}/cancel", json={"cancel_reason": "Not needed"})
        assert straight.json()["data"]["timeoff"]["status"] == "cancelled"

        taken = _one(app, "taken")
        assert (await c.post(f"/v1/timeoff/{taken}/cancel", json={"cancel_reason": "x"})).status_code == 409


async def test_approver_must_be_a_company_manager():
    app = make_app()
    async with client(app) as c:
        response = await c.post(f"/v1/timeoff/{_one(app, 'requested')}/approve",
                                json={"approver_id": manager_id(app, "globex")})
        assert response.status_code == 422 and "approver_id" in response.json()["errors"]


async def test_cancel_requests():
    app = make_app()
    async with client(app) as c:
        pending = records(app, "timeoffs", status="cancel_requested")
        first, second = pending[0]["id"], pending[1]["id"]
        ok = await c.post(f"/v1/timeoff/{first}/cancel-request/approve")
        assert ok.status_code == 200 and ok.json() == {"data": {"status": "ok"}}
        assert (await c.get(f"/v1/timeoff/{first}")).json()["data"]["timeoff"]["status"] == "cancelled"
        assert (await c.post(f"/v1/timeoff/{first}/cancel-request/approve")).status_code == 409
        kept = await c.post(f"/v1/timeoff/{second}/cancel-request/decline", json={"decline_reason": "Needed"})
        assert kept.json() == {"data": {"status": "ok"}}
        assert (await c.get(f"/v1/timeoff/{second}")).json()["data"]["timeoff"]["status"] == "approved"
        approved = _one(app, "requested")
        decline = await c.post(f"/v1/timeoff/{approved}/cancel-request/decline", json={"decline_reason": "x"})
        assert decline.status_code == 409


async def test_create_and_update():
    app = make_app()
    employment = records(app, "employments", status="active", type="employee")[0]
    approver = manager_id(app)
    body = {
        "employment_id": employment["id"], "start_date": "2026-09-07", "end_date": "2026-09-08",
        "timezone": "Europe/Berlin", "timeoff_type": "paid_time_off", "status": "approved",
        "timeoff_days": [{"day": "2026-09-07", "hours": 8}, {"day": "2026-09-08", "hours": 8}],
        "approver_id": approver, "approved_at": "2026-06-15T09:00:00Z",
    }
    async with client(app) as c:
        created = await c.post("/v1/timeoff", json=body)
        assert created.status_code == 201, created.text
        timeoff = created.json()["data"]["timeoff"]
        assert timeoff["status"] == "approved" and timeoff["total_minutes"] == 960
        overlap = await c.post("/v1/timeoff", json=body)
        assert overlap.status_code == 409
        missing = await c.post("/v1/timeoff", json={k: v for k, v in body.items() if k != "timezone"})
        assert missing.status_code == 422 and missing.json()["errors"]["timezone"] == ["can't be blank"]
        requested = await c.post("/v1/timeoff", json={**body, "status": "requested"})
        assert requested.status_code == 422 and "status" in requested.json()["errors"]

        path = f"/v1/timeoff/{timeoff['id']}"
        # Remote's body schema requires edit_reason and cancel_reason on every update.
        no_reason = await c.patch(path, json={"notes": "Moved"})
        assert no_reason.status_code == 422
        assert set(no_reason.json()["errors"]) == {"edit_reason", "cancel_reason"}
        no_cancel_reason = await c.patch(path, json={"notes": "Moved", "edit_reason": "Shorter"})
        assert no_cancel_reason.status_code == 422 and set(no_cancel_reason.json()["errors"]) == {"cancel_reason"}
        blank_edit = await c.patch(path, json={"notes": "Moved", "edit_reason": " ", "cancel_reason": ""})
        assert blank_edit.status_code == 422 and "edit_reason" in blank_edit.json()["errors"]
        edited = await c.patch(path, json={"notes": "Moved", "end_date": "2026-09-07", "edit_reason": "Shorter",
                                           "cancel_reason": "", "timeoff_days": [{"day": "2026-09-07", "hours": 8}]})
        assert edited.status_code == 200, edited.text
        assert edited.json()["data"]["timeoff"]["end_date"] == "2026-09-07"
        outside = await c.patch(path, json={"edit_reason": "x", "cancel_reason": "",
                                            "timeoff_days": [{"day": "2026-10-01", "hours": 8}]})
        assert outside.status_code == 422
        declined = records(app, "timeoffs", status="declined")[0]["id"]
        assert (await c.patch(f"/v1/timeoff/{declined}", json={"notes": "x", "edit_reason": "y",
                                                              "cancel_reason": ""})).status_code == 409


async def test_list_filters_overlap_and_sort():
    app = make_app()
    async with client(app) as c:
        window = {"start_date": "2026-07-01", "end_date": "2026-07-31", "page_size": 100}
        rows = (await c.get("/v1/timeoff", params=window)).json()["data"]["timeoffs"]
        assert rows and all(r["start_date"] <= "2026-07-31" and r["end_date"] >= "2026-07-01" for r in rows)
        expected = [r for r in records(app, "timeoffs")
                    if r["start_date"] <= "2026-07-31" and r["end_date"] >= "2026-07-01"]
        assert len(rows) == len(expected)
        taken = (await c.get("/v1/timeoff", params={"status": "taken", "page_size": 100})).json()["data"]
        assert taken["timeoffs"] and {r["status"] for r in taken["timeoffs"]} == {"taken"}
        by_type = (await c.get("/v1/timeoff", params={"sort_by": "timeoff_type", "order": "desc",
                                                        "page_size": 100})).json()["data"]["timeoffs"]
        types = [r["timeoff_type"] for r in by_type]
        assert types == sorted(types, reverse=True)
        employment = by_type[0]["employment_id"]
        mine = (await c.get("/v1/timeoff", params={"employment_id": employment})).json()["data"]["timeoffs"]
        assert mine and {r["employment_id"] for r in mine} == {employment}
        bad = await c.get("/v1/timeoff", params={"status": "bogus"})
        assert bad.status_code == 422
