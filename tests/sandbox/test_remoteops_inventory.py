"""Stock movements (409 insufficient-stock, low_stock) and equipment checkout/return."""

from __future__ import annotations

import pytest

from .helpers_remoteops import conforms, first, idem, iso_in, technician

pytestmark = pytest.mark.anyio


async def test_stock_movements(nw) -> None:  # type: ignore[no-untyped-def]
    level = await first(nw, "/stock-levels", location_type="warehouse")
    part_id, warehouse = level["part"]["id"], level["location"]["id"]
    tech = await technician(nw)
    van = tech["van_location_id"]
    r = await nw.post("/stock-movements", json={"type": "receive", "part_id": part_id, "quantity": 20,
                                                "location_id": warehouse, "reference": "DN-1"}, headers=idem())
    assert r.status_code == 201, r.text
    conforms(r, "/stock-movements", "POST")
    on_hand = r.json()["resulting_levels"][0]["on_hand"]
    assert on_hand == level["on_hand"] + 20
    r = await nw.post("/stock-movements", json={"type": "transfer", "part_id": part_id, "quantity": 5,
                                                "from_location_id": warehouse, "to_location_id": van}, headers=idem())
    assert r.status_code == 201 and [x["location_id"] for x in r.json()["resulting_levels"]] == [warehouse, van]
    r = await nw.post("/stock-movements", json={"type": "transfer", "part_id": part_id, "quantity": 10_000,
                                                "from_location_id": warehouse, "to_location_id": van}, headers=idem())
    assert r.status_code == 409 and r.json()["code"] == "insufficient-stock"
    conforms(r, "/stock-movements", "POST")
    # adjust down to exactly the reorder point of the van → inventory.low_stock
    await nw.post("/stock-movements", json={"type": "receive", "part_id": part_id, "quantity": 15,
                                            "location_id": van}, headers=idem())
    van_level = (await nw.get("/stock-levels", params={"location_id": van, "part_id": part_id})).json()["data"][0]
    drop = van_level["available"] - van_level["reorder_point"]
    r = await nw.post("/stock-movements", json={"type": "adjust", "part_id": part_id, "quantity": drop,
                                                "direction": "decrease", "location_id": van, "reason": "count"},
                      headers=idem())
    assert r.status_code == 201
    events = (await nw.get("/events", params={"type": "inventory.low_stock"})).json()["data"]
    assert events and events[0]["data"]["object"]["location"]["id"] == van
    r = await nw.post("/stock-movements", json={"type": "adjust", "part_id": part_id, "quantity": 1,
                                                "location_id": van}, headers=idem())
    assert r.status_code == 422 and {e["pointer"] for e in r.json()["errors"]} == {"/direction", "/reason"}
    r = await nw.get("/stock-levels", params={"below_reorder_point": "true", "location_id": van})
    assert part_id in {row["part"]["id"] for row in r.json()["data"]}


async def test_equipment_checkout_and_return(nw) -> None:  # type: ignore[no-untyped-def]
    tech = await technician(nw)
    assets = (await nw.get("/assets", params={"ownership": "company", "limit": 100})).json()["data"]
    free = [a for a in assets if a["checkout"] is None][0]
    body = {"asset_id": free["id"], "technician_id": tech["id"], "due_back_at": iso_in(48)}
    r = await nw.post("/equipment-checkouts", json=body)
    assert r.status_code == 201 and r.json()["status"] == "checked_out"
    conforms(r, "/equipment-checkouts", "POST")
    checkout = r.json()
    r = await nw.post("/equipment-checkouts", json=body)
    assert r.status_code == 409 and r.json()["code"] == "equipment-unavailable"
    customer_asset = await first(nw, "/assets", ownership="customer")
    r = await nw.post("/equipment-checkouts", json={**body, "asset_id": customer_asset["id"]})
    assert r.status_code == 422
    asset = (await nw.get(f"/assets/{free['id']}")).json()
    assert asset["checkout"]["id"] == checkout["id"] and "service_summary" in asset
    r1 = await nw.post(f"/equipment-checkouts/{checkout['id']}/return", json={"condition": "damaged"})
    r2 = await nw.post(f"/equipment-checkouts/{checkout['id']}/return", json={"condition": "ok"})
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
    assert r1.json()["condition"] == "damaged"
    conforms(r1, "/equipment-checkouts/{checkout_id}/return", "POST")
    assert (await nw.post("/equipment-checkouts", json=body)).status_code == 201
