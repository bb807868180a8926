"""From the hostile agent's side: an agent bound to Acme through a partner connection (the same partner also
serves Globex) calls every Remote read tool — directly, and through ``ops_call_tool`` — with ids taken
from Globex's seeded data and filters naming Globex, and never sees a Globex id, email or name. Every
audit record names Acme. The sandbox runs on real loopback HTTP; the consent was given by each company.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from mcp import Client

from ops_mcp.catalogue import load_catalogue
from ops_mcp.config import load_settings
from ops_mcp.runtime import build_runtime
from ops_mcp.transports.stdio import build_stdio_server
from tests.support.partner import connect_company, partner_connection, toml_config, write_key_file

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
READ_TOOLS = [e for e in load_catalogue()["remote"].endpoints if e.method == "GET"]
# Path ``id`` of each "get one" tool → the collection its id comes from.
ID_COLLECTION = {
    "remote_get_contract_amendment": "amendments", "remote_get_timeoff": "timeoffs",
    "remote_get_timesheet": "timesheets", "remote_get_contractor_invoice": "invoices",
    "remote_get_offboarding": "offboardings", "remote_get_offboarding_v2": "offboardings",
    "remote_get_expense": "expenses", "remote_get_incentive": "incentives",
    "remote_get_probation_extension": "probation_extensions",
    "remote_get_probation_completion_letter": "probation_letters", "remote_download_file": "files",
    "remote_get_work_authorization_request": "work_authorizations",
    "remote_get_travel_letter_request": "travel_letters", "remote_get_contractor_invoice_schedule": "schedules",
}
NOT_COMPANY_DATA = {"cycle": "2026-06", "country_code": "PRT", "form": "address_details", "year": "2026",
                    "slug": "portugal-lisbon", "type": "employee"}


def owned(state, company_id: str) -> dict[str, list[dict]]:
    """Every seeded record of one company, by collection (directly, or through its employment)."""
    employments = {e["id"] for e in state.data["employments"].values() if e.get("_company_id") == company_id}
    found: dict[str, list[dict]] = {}
    for name, collection in state.data.items():
        for record in collection.values():
            if record.get("_company_id") == company_id or record.get("employment_id") in employments \
                    or record.get("_employment_id") in employments or record.get("id") == company_id:
                found.setdefault(name, []).append(record)
    return found


def strings(node: Any) -> list[tuple[str, str]]:
    """(key, value) of every string in a record, however deep."""
    out: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out += [(key, value)] if isinstance(value, str) else strings(value)
    elif isinstance(node, list):
        for value in node:
            out += strings(value)
    return out


def markers(state, company_id: str, other_id: str) -> set[str]:
    """What would betray one company's data: its ids, emails and names — none of which the other shares."""
    mine = {value for records in owned(state, other_id).values() for r in records for _k, value in strings(r)}
    found = set()
    for records in owned(state, company_id).values():
        for record in records:
            for key, value in strings(record):
                if UUID.match(value) or "@" in value or key in ("short_id", "external_id") or (
                        key.endswith("name") and len(value) >= 6):
                    found.add(value)
    return found - mine


def hostile_arguments(endpoint, other: dict[str, list[dict]], other_company: str) -> dict[str, Any]:
    """Every path id from the other company's data, every filter naming it."""
    employee = next(e for e in other["employments"] if e["status"] == "active" and e["type"] == "employee")
    contractor = next(e for e in other["employments"] if e["type"] == "contractor")
    resignation = next(o for o in other["offboardings"] if o.get("type") == "resignation")
    expense = next(e for e in other["expenses"] if e.get("receipts"))
    values = {
        "company_id": other_company, "employment_id": employee["id"], "user_id": other["managers"][0]["user_id"],
        "billing_document_id": other["billing_documents"][0]["id"], "payslip_id": other["payslips"][0]["id"],
        "payroll_run_id": other["payroll_runs"][0]["id"], "offboarding_request_id": resignation["id"],
        "expense_id": expense["id"], "receipt_id": expense["receipts"][0]["id"],
        "custom_field_id": other["custom_fields"][0]["id"], "email": employee["personal_email"],
        "employee_name": employee["full_name"], "contractor_invoice_schedule_id": other["schedules"][0]["id"],
        "recurring_incentive_id": other["recurring_incentives"][0]["id"],
    }
    if endpoint.tool == "remote_list_contract_documents":
        values["employment_id"] = contractor["id"]
    if endpoint.tool == "remote_list_employment_offboardings":
        values["employment_id"] = other["offboardings"][0]["employment_id"]
    if endpoint.tool in ID_COLLECTION:
        values["id"] = other[ID_COLLECTION[endpoint.tool]][0]["id"]
    args: dict[str, Any] = {}
    params = endpoint.parameters
    for group in (params.path, params.query):
        for name in group.get("properties", {}):
            if name in values:
                args[name] = values[name]
            elif name in NOT_COMPANY_DATA and (name in group.get("required", []) or group is params.path):
                args[name] = NOT_COMPANY_DATA[name]
    return args


def seen(result) -> str:
    """Everything the agent got back, as text (binary resources decoded)."""
    parts = [json.dumps(result.structured_content)] if result.structured_content is not None else []
    for block in result.content:
        if getattr(block, "text", None):
            parts.append(block.text)
        resource = getattr(block, "resource", None)
        if resource is not None:
            parts.append(getattr(resource, "text", None) or base64.b64decode(getattr(resource, "blob", "")).decode(
                "latin-1"))
    return "\n".join(parts)


@pytest.fixture
async def deployment(tmp_path, sandbox):
    """One partner, two companies that both consented; agents bound to Acme (direct and discovery mode)."""
    base, state = sandbox
    acme, globex = (state.company_by_slug(s)["id"] for s in ("acme", "globex"))
    connections = {"acme": partner_connection(acme, label="Acme GmbH", per_minute=100_000),
                   "globex": partner_connection(globex, label="Globex Ltd", per_minute=100_000),
                   "partner": {"label": "Partner", "oauth": partner_connection(acme, label="")["oauth"]}}
    path = toml_config(tmp_path / "ops-mcp.toml", state_dir=tmp_path / "state",
                       key_file=write_key_file(tmp_path / "keys"), remote_base=f"{base}/remote",
                       connections=connections)
    with path.open("a") as handle:
        for agent, mode, tenant in (("hostile", "static", "acme"), ("hostile-discovery", "discovery", "acme"),
                                    ("hostile-partner", "static", "partner")):
            handle.write(f'\n[agents.{agent}]\nareas = {{ "remote.*" = "read" }}\ntool_mode = "{mode}"\n'
                         f'connections = {{ remote = "{tenant}" }}\n')
    runtime = build_runtime(load_settings(path))
    async with httpx.AsyncClient() as browser:
        for name in ("acme", "globex"):
            await connect_company(runtime.tenants.get("remote", name), runtime.grants, browser)
    try:
        yield runtime, state, acme, globex
    finally:
        await runtime.aclose()


async def test_an_agent_bound_to_acme_never_sees_globex_by_any_read_tool(deployment):
    runtime, state, acme, globex = deployment
    leaks = markers(state, globex, acme)
    globex_data = owned(state, globex)
    assert len(leaks) > 500 and "Globex Ltd" in leaks
    served = refused = 0
    async with Client(build_stdio_server(runtime, "hostile"), mode="legacy") as direct, \
            Client(build_stdio_server(runtime, "hostile-discovery")) as discovery:
        listed = {t.name for t in (await direct.list_tools()).tools}
        assert {e.tool for e in READ_TOOLS} <= listed and len(READ_TOOLS) >= 70
        # Not vacuous: the connection really serves Acme's data.
        own = await direct.call_tool("remote_list_employments", {"page_size": 100})
        assert not own.is_error and own.structured_content["total_count"] > 10
        assert all(e["id"] not in leaks for e in own.structured_content["employments"])
        for endpoint in READ_TOOLS:
            args = hostile_arguments(endpoint, globex_data, globex)
            for result in (await direct.call_tool(endpoint.tool, args),
                           await discovery.call_tool("ops_call_tool", {"name": endpoint.tool, "arguments": args})):
                text = seen(result)
                asked = {str(v) for v in args.values()}
                found = {m for m in leaks - asked if m in text}
                assert not found, (endpoint.tool, args, sorted(found)[:5])
                if result.is_error:
                    refused += 1
                else:
                    served += 1
    assert served > 40 and refused > 40  # lists answered with Acme's data or nothing; Globex ids not found
    records = [entry.record for entry in runtime.audit.tail(1000) if entry.record.backend == "remote"]
    assert len(records) == 2 * len(READ_TOOLS) + 1
    assert {(r.tenant, r.tenant_label) for r in records} == {("acme", "Acme GmbH")}


async def test_partner_level_tools_are_refused_to_a_company_bound_agent(deployment):
    runtime, state, _acme, _globex = deployment
    before = len(state.requests)
    async with Client(build_stdio_server(runtime, "hostile")) as agent:
        result = await agent.call_tool("remote_list_companies", {})
    assert result.is_error and "Globex" not in seen(result)
    assert "partner-level operation" in seen(result) and len(state.requests) == before


async def test_an_agent_on_a_partner_level_connection_reads_no_company_data(deployment):
    """The old way ("oauth" without a company): the client-credentials token never reaches company data."""
    runtime, state, _acme, globex = deployment
    leaks = markers(state, globex, _acme) - {"Globex Ltd"}  # the partner's own list of companies names it
    company_reads = [e for e in READ_TOOLS if e.token_kind == "company"]
    before = len(state.requests)
    async with Client(build_stdio_server(runtime, "hostile-partner")) as agent:
        for endpoint in company_reads:
            result = await agent.call_tool(endpoint.tool, hostile_arguments(endpoint, owned(state, globex), globex))
            assert result.is_error and "partner-level (no company_id)" in seen(result), endpoint.tool
            assert not {m for m in leaks if m in seen(result)}
        countries = await agent.call_tool("remote_list_countries", {})
    assert not countries.is_error
    assert len(state.requests) == before + 2  # only the client-credentials grant and the countries list
