"""Unwrapping, fields projection, and the size cap that never cuts JSON mid-way."""

from __future__ import annotations

import json

from ops_mcp.catalogue.models import ResponseSpec
from ops_mcp.upstream.errors import (
    ErrorContext,
    map_http_error,
    scrub,
    transport_error,
)
from ops_mcp.upstream.shaping import fit_items, page_continuation, project, size_of, unwrap


def test_unwrap_envelopes():
    single = ResponseSpec(unwrap=["data", "employment"], schema={"type": "object"})
    assert unwrap({"data": {"employment": {"id": "e1"}}}, single) == {"id": "e1"}
    listing = ResponseSpec(unwrap=[], schema={"type": "object"}, list_key="data")
    assert unwrap([1, 2], listing) == {"data": [1, 2]}


def test_projection_keeps_ids_and_pagination():
    result = {
        "object": "list",
        "has_more": True,
        "next_cursor": "c2",
        "data": [{"id": "wo_1", "status": "new", "summary": "x", "customer_id": "cus_1"}],
    }
    out = project(result, ["status"], "data", {"has_more", "next_cursor", "object"})
    assert out == {
        "object": "list",
        "has_more": True,
        "next_cursor": "c2",
        "data": [{"id": "wo_1", "status": "new"}],
    }
    nested = project(
        {"id": "e1", "country": {"code": "PRT", "name": "Portugal"}, "x": 1}, ["country.code"], None, set()
    )
    assert nested == {"id": "e1", "country": {"code": "PRT"}}


def test_fit_items_drops_from_the_end_and_stays_valid():
    result = {"current_page": 1, "employments": [{"id": i, "pad": "x" * 100} for i in range(100)]}
    kept = fit_items(result, "employments", 3000)
    assert 0 < kept < 100
    cut = {**result, "employments": result["employments"][:kept], "truncated": True, "next": {"page": 2}}
    assert size_of(cut) <= 3000 and json.loads(json.dumps(cut))
    assert fit_items({"employments": []}, "employments", 3000) is None


def test_page_continuation_is_exact():
    assert page_continuation(0, 37, 100) == {"page": 2, "page_size": 37}
    nxt = page_continuation(40, 20, 100)  # started at page 3 of 20, delivered 20 more
    assert (nxt["page"] - 1) * nxt["page_size"] == 60


CTX = ErrorContext(
    "acme",
    "RemoteOps",
    thing="work order",
    object_id="wo_9",
    list_tool="remoteops_list_work_orders",
    is_write=True,
    attempts=3,
    secrets=("rops_test_SECRET123",),
)


def test_problem_json_conflict_lists_allowed_transitions():
    body = {
        "type": "https://docs.remoteops.example/problems/invalid-transition",
        "title": "Invalid transition",
        "status": 409,
        "detail": "Cannot go from new to completed.",
        "code": "invalid-transition",
        "allowed_transitions": ["scheduled", "cancelled"],
        "request_id": "req_1",
    }
    error = map_http_error(409, body, CTX)
    assert error.kind == "conflict" and "Allowed next statuses: scheduled, cancelled" in error.message
    assert error.details["allowed_transitions"] == ["scheduled", "cancelled"]


def test_remote_422_per_field_and_404_list_first():
    error = map_http_error(
        422, {"errors": {"start_date": ["is invalid"], "timezone": ["can't be blank"]}}, CTX
    )
    assert error.kind == "invalid" and "start_date: is invalid" in error.message
    assert error.details["fields"]["timezone"] == ["can't be blank"]
    problem = {
        "status": 422,
        "code": "validation-failed",
        "errors": [{"pointer": "/lines/0/amount", "detail": "must be > 0"}],
    }
    assert map_http_error(422, problem, CTX).details["fields"] == {"lines.0.amount": ["must be > 0"]}
    missing = map_http_error(404, {"message": "Work order not found"}, CTX)
    assert "no work order with id wo_9" in missing.message and "remoteops_list_work_orders" in missing.message


def test_401_5xx_and_transport_messages_are_actionable_and_clean():
    unauthorized = map_http_error(401, {"message": "Bearer rops_test_SECRET123 is invalid"}, CTX)
    assert "tell the operator" in unauthorized.message and "SECRET" not in unauthorized.message
    html = map_http_error(502, None, CTX)
    assert "after 3 attempts" in html.message and "may or may not have happened" in html.message
    leaked = map_http_error(
        500, {"detail": "Traceback (most recent call last): token rops_test_SECRET123"}, CTX
    )
    assert "Traceback" not in leaked.message and "SECRET" not in leaked.message
    network = transport_error("network", CTX, uncertain_write=True)
    assert network.details == {"outcome": "unknown"} and "remoteops_list_work_orders" in network.message
    assert scrub("<html><body>502</body></html>") == "the back end returned an HTML error page"
    assert len(scrub("x" * 5000)) <= 600
