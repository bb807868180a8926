"""Work-order status machine (§5): every legal transition and the illegal ones."""

from __future__ import annotations

import base64

import pytest

from .helpers_remoteops import (
    assign,
    completed_work_order,
    conforms,
    idem,
    move,
    new_work_order,
    technician,
)

pytestmark = pytest.mark.anyio
SIGNATURE = {"kind": "signature", "filename": "sig.png", "content_type": "image/png",
             "content_base64": base64.b64encode(b"\x89PNG fake").decode(), "signer_name": "Ina Hausmeister"}


async def test_full_lifecycle_with_hold_reopen_and_close(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await new_work_order(nw, billable=False)
    assert wo["status"] == "new" and wo["allowed_transitions"] == ["cancelled"]
    assert wo["livemode"] is False and wo["sla"]["state"] in ("on_track", "at_risk")
    tech = await technician(nw)
    r = await assign(nw, wo["id"], tech["id"])
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    conforms(r, "/work-orders/{work_order_id}/assignment", "PUT")
    steps = [("dispatched", {}), ("in_progress", {}), ("on_hold", {"reason_code": "awaiting_parts"}),
             ("in_progress", {}), ("completed", {"resolution": {"summary": "Fixed", "labor_minutes": 30}}),
             ("in_progress", {"reason_code": "issue_recurred"}),
             ("completed", {"resolution": {"summary": "Fixed for good"}}), ("closed", {})]
    for to, extra in steps:
        r = await move(nw, wo["id"], to, **extra)
        assert r.status_code == 200, (to, r.text)
        assert r.json()["status"] == to
        conforms(r, "/work-orders/{work_order_id}/transitions", "POST")
    final = r.json()
    assert final["allowed_transitions"] == [] and final["closed_at"] and final["started_at"]
    r = await nw.get(f"/work-orders/{wo['id']}/timeline", params={"types": "transition"})
    assert [e["details"]["to_status"] for e in r.json()["data"]] == [s for s, _ in steps]
    conforms(r, "/work-orders/{work_order_id}/timeline", "GET")
    events = (await nw.get("/events", params={"object_id": wo["id"], "limit": 100})).json()["data"]
    types = {e["type"] for e in events}
    assert {"work_order.created", "work_order.assigned", "work_order.dispatched", "work_order.started",
            "work_order.on_hold", "work_order.resumed", "work_order.completed", "work_order.reopened",
            "work_order.closed"} <= types


@pytest.mark.parametrize(("path", "to", "allowed"), [
    ([], "dispatched", ["cancelled"]),
    ([], "in_progress", ["cancelled"]),
    (["assign"], "in_progress", ["dispatched", "cancelled"]),
    (["assign", "dispatched"], "completed", ["in_progress", "cancelled"]),
    (["assign", "dispatched", "in_progress"], "closed", ["on_hold", "completed", "cancelled"]),
    (["assign", "dispatched", "cancelled"], "in_progress", []),
])
async def test_illegal_transitions_answer_409_with_allowed_transitions(nw, path, to, allowed) -> None:  # type: ignore[no-untyped-def]
    wo = await new_work_order(nw)
    tech = await technician(nw)
    for step in path:
        if step == "assign":
            await assign(nw, wo["id"], tech["id"])
        else:
            extra = {"reason_code": "duplicate", "cancelled_by": "customer"} if step == "cancelled" else {}
            assert (await move(nw, wo["id"], step, **extra)).status_code == 200
    r = await move(nw, wo["id"], to)
    assert r.status_code == 409
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "invalid-transition" and problem["allowed_transitions"] == allowed
    assert problem["request_id"] == r.headers["request-id"]
    conforms(r, "/work-orders/{work_order_id}/transitions", "POST")


async def test_guards_status_mismatch_reasons_and_signature(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await new_work_order(nw, requires_signature=True)
    r = await move(nw, wo["id"], "cancelled", expected_status="scheduled", reason_code="duplicate",
                   cancelled_by="customer")
    assert r.status_code == 409 and r.json()["code"] == "status-mismatch"
    r = await move(nw, wo["id"], "cancelled", reason_code="duplicate")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/cancelled_by"
    tech = await technician(nw)
    await assign(nw, wo["id"], tech["id"])
    await move(nw, wo["id"], "dispatched")
    await move(nw, wo["id"], "in_progress")
    r = await move(nw, wo["id"], "on_hold")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/reason_code"
    r = await move(nw, wo["id"], "completed", resolution={"summary": "Done"})
    assert r.status_code == 422 and r.json()["code"] == "completion-requirements-not-met"
    r = await nw.post(f"/work-orders/{wo['id']}/attachments", json=SIGNATURE)
    assert r.status_code == 201, r.text
    conforms(r, "/work-orders/{work_order_id}/attachments", "POST")
    r = await nw.post(f"/work-orders/{wo['id']}/attachments", json=SIGNATURE)
    assert r.status_code == 409 and r.json()["code"] == "signature-exists"
    r = await move(nw, wo["id"], "completed", resolution={"summary": "Done"})
    assert r.status_code == 200 and r.json()["signature_captured"] is True
    # completed → cancelled is not allowed; billable completed cannot close before an issued invoice
    r = await move(nw, wo["id"], "cancelled", reason_code="duplicate", cancelled_by="provider")
    assert r.status_code == 409 and r.json()["allowed_transitions"] == ["in_progress"]
    r = await move(nw, wo["id"], "closed")
    assert r.status_code == 409 and "invoice" in r.json()["detail"]


async def test_multipart_attachment(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await new_work_order(nw)
    r = await nw.post(f"/work-orders/{wo['id']}/attachments", data={"kind": "photo"},
                      files={"file": ("door.jpg", b"\xff\xd8jpeg", "image/jpeg")})
    assert r.status_code == 201, r.text
    assert r.json()["size_bytes"] == 6 and r.json()["content_type"] == "image/jpeg"


async def test_assignment_effects_and_cancel(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await new_work_order(nw)
    tech = await technician(nw)
    first = (await assign(nw, wo["id"], tech["id"])).json()
    again = await assign(nw, wo["id"], tech["id"])  # same body: nothing changes, no event
    assert again.json()["version"] == first["version"]
    await move(nw, wo["id"], "dispatched")
    r = await assign(nw, wo["id"], tech["id"], start_in=30)  # rescheduling drops back to scheduled
    assert r.json()["status"] == "scheduled"
    r = await nw.put(f"/work-orders/{wo['id']}/assignment", json={"technician_ids": [], "scheduled_start": "x"})
    assert r.status_code == 422
    r = await move(nw, wo["id"], "cancelled", reason_code="customer_request", cancelled_by="customer")
    assert r.status_code == 200 and r.json()["cancellation"]["cancelled_by"] == "customer"
    r = await assign(nw, wo["id"], tech["id"])
    assert r.status_code == 409


async def test_patch_if_match_and_sla_recompute(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await new_work_order(nw, priority="low")
    r = await nw.patch(f"/work-orders/{wo['id']}", json={"priority": "urgent"}, headers={"If-Match": '"99"'})
    assert r.status_code == 412 and r.json()["code"] == "precondition-failed"
    r = await nw.patch(f"/work-orders/{wo['id']}", json={"priority": "urgent"}, headers={"If-Match": f'"{wo["version"]}"'})
    assert r.status_code == 200 and r.json()["sla"]["due_at"] < wo["sla"]["due_at"]
    assert r.headers["etag"] == f'"{wo["version"] + 1}"'
    conforms(r, "/work-orders/{work_order_id}", "PATCH")
    r = await nw.patch(f"/work-orders/{wo['id']}", json={"status": "closed"})
    assert r.status_code == 422


async def test_completion_consumes_parts_or_refuses_with_insufficient_stock(nw) -> None:  # type: ignore[no-untyped-def]
    wo = await completed_work_order(nw)
    assert wo["status"] == "completed"
    wo2 = await new_work_order(nw)
    tech = await technician(nw)
    await assign(nw, wo2["id"], tech["id"])
    await move(nw, wo2["id"], "dispatched")
    await move(nw, wo2["id"], "in_progress")
    stock = (await nw.get("/stock-levels", params={"location_id": tech["van_location_id"]})).json()["data"][0]
    r = await move(nw, wo2["id"], "completed", resolution={"summary": "x"},
                   parts_used=[{"part_id": stock["part"]["id"], "quantity": stock["available"] + 1}])
    assert r.status_code == 409 and r.json()["code"] == "insufficient-stock"
    if stock["available"] > 0:
        r = await move(nw, wo2["id"], "completed", resolution={"summary": "x"},
                       parts_used=[{"part_id": stock["part"]["id"], "quantity": 1}])
        assert r.status_code == 200 and r.json()["parts_used"][0]["quantity"] == 1
    assert idem()  # helper sanity
