"""Shared steps for RemoteOps tests (plain functions over the HTTP API)."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from ops_mcp.sandbox.remoteops import SANDBOX_CREDENTIALS

BASE = "http://sandbox.test/remoteops/v1"


def ro_client(app: Any, key: str = "northwind") -> httpx.AsyncClient:
    token = SANDBOX_CREDENTIALS.get(key, key)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, root_path="/remoteops/v1"), base_url=BASE,
                             headers={"Authorization": f"Bearer {token}"})


_KEYS = itertools.count(1)


def idem() -> dict[str, str]:
    """A fresh Idempotency-Key (unique in this process; a counter, not randomness)."""
    return {"Idempotency-Key": str(uuid.UUID(int=next(_KEYS)))}


def iso_in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


DOCUMENT = Path(__file__).resolve().parents[2] / "tool_manifests" / "openapi" / "remoteops.json"


@cache
def _schema():  # type: ignore[no-untyped-def]
    import schemathesis

    return schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))


def conforms(response: httpx.Response, path: str, method: str) -> None:
    """The response matches the OpenAPI document (status documented, body schema, headers)."""
    _schema()[path][method].validate_response(response)


async def first(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    r = await client.get(path, params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return r.json()["data"][0]


async def new_work_order(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    site = await first(client, "/sites")
    body = {"customer_id": site["customer_id"], "site_id": site["id"], "summary": "Lift stuck on floor 3",
            "priority": "high", **fields}
    r = await client.post("/work-orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def technician(client: httpx.AsyncClient) -> dict[str, Any]:
    return await first(client, "/technicians", status="active")


async def assign(client: httpx.AsyncClient, wo_id: str, tech_id: str, start_in: float = 2) -> httpx.Response:
    return await client.put(f"/work-orders/{wo_id}/assignment", json={
        "technician_ids": [tech_id], "scheduled_start": iso_in(start_in), "scheduled_end": iso_in(start_in + 2)})


async def move(client: httpx.AsyncClient, wo_id: str, to: str, **body: Any) -> httpx.Response:
    return await client.post(f"/work-orders/{wo_id}/transitions", json={"to": to, **body})


async def completed_work_order(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    wo = await new_work_order(client, **fields)
    tech = await technician(client)
    assert (await assign(client, wo["id"], tech["id"])).status_code == 200
    for to in ("dispatched", "in_progress"):
        assert (await move(client, wo["id"], to)).status_code == 200
    r = await move(client, wo["id"], "completed", resolution={"summary": "Replaced door roller", "labor_minutes": 90})
    assert r.status_code == 200, r.text
    return r.json()


async def issued_invoice(client: httpx.AsyncClient) -> dict[str, Any]:
    wo = await completed_work_order(client)
    r = await client.post("/invoices", json={"source": {"work_orders": [wo["id"]]}})
    assert r.status_code == 201, r.text
    r = await client.post(f"/invoices/{r.json()['id']}/issue", json={}, headers=idem())
    assert r.status_code == 200, r.text
    return r.json()
