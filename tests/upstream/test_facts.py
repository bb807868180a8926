"""Per-endpoint facts are worked out once: path checks compiled once, hints read from the catalogue."""

from __future__ import annotations

import pytest

from ops_mcp.upstream import request as request_module
from ops_mcp.upstream.facts import facts_for, list_tools

from .conftest import make_client, remoteops_connection, remoteops_sandbox


def test_the_object_and_the_list_tool_come_from_the_path(catalogue):
    hints = list_tools(catalogue)
    read = facts_for(catalogue["remoteops"].endpoint("remoteops_get_customer"), "remoteops", hints)
    assert (read.thing, read.list_tool) == ("customer", "remoteops_list_customers")
    write = facts_for(catalogue["remoteops"].endpoint("remoteops_transition_work_order"), "remoteops", hints)
    assert (write.thing, write.list_tool) == ("work order", "remoteops_list_work_orders")
    listing = facts_for(catalogue["remote"].endpoint("remote_list_countries"), "remote", hints)
    assert listing.list_tool is None  # a list tool never suggests itself


@pytest.mark.anyio
async def test_path_checks_are_compiled_once_per_endpoint_not_per_call(catalogue, remoteops, monkeypatch):
    compiled: list[dict] = []
    compile_once = request_module._compile

    def counting(schema):
        compiled.append(schema)
        return compile_once(schema)

    monkeypatch.setattr(request_module, "_compile", counting)
    sandbox = remoteops_sandbox()
    endpoint = remoteops.endpoint("remoteops_get_customer")
    async with make_client(sandbox, catalogue) as client:
        found = [await client.call(remoteops_connection(), endpoint, {"customer_id": f"cus_{i}"}) for i in range(3)]
        refused = await client.call(remoteops_connection(), endpoint, {"customer_id": "../work-orders"})
    assert [o.status for o in found] == [404, 404, 404]
    assert compiled == [{"type": "string", "pattern": "^cus_[A-Za-z0-9]+$"}]
    assert refused.error is not None and refused.error.kind == "invalid_args" and refused.attempts == 0
    assert "customer_id" in refused.error.message and "pattern" in refused.error.message
    assert all("../" not in r.path for r in sandbox.remoteops.requests)  # nothing was sent
