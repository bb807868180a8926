"""Fault injection on the RemoteOps app, configured in settings and changed at run time."""

from __future__ import annotations

import httpx
import pytest

from ops_mcp.sandbox.common import FaultSettings
from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app

from .helpers_remoteops import first, ro_client

pytestmark = pytest.mark.anyio


async def test_injected_errors_are_counted_and_have_no_side_effect() -> None:
    app = create_remoteops_app(RemoteOpsSandboxSettings(faults=FaultSettings(error_rate=1, seed=3)))
    state = app.state.sandbox
    async with ro_client(app) as client:
        r = await client.post("/customers", json={"type": "individual", "name": "Nobody"})
        assert r.status_code in (500, 503) and r.json()["code"] in ("internal-error", "service-unavailable")
        assert state.fault_counts() == {"error": 1} and state.effects["customer.created"] == 0
        assert state.requests == []
        r = await client.put("/_sandbox/faults", json={"error_rate": 0, "drop_rate": 1})
        assert r.json()["faults"]["drop_rate"] == 1
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/customers", json={"type": "individual", "name": "Dropped"})
        assert state.effects["customer.created"] == 1  # the write happened; the reply was lost
        r = await client.get("/_sandbox/requests")
        assert r.json()["requests"][-1]["status"] == 201
        state.faults = FaultSettings()
        customer = await first(client, "/customers", q="Dropped")
        assert customer["name"] == "Dropped"
        r = await client.get("/_sandbox/faults")
        assert r.json()["applied"] == {"error": 1, "drop": 1}
