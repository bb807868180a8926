"""OpenAI Agents SDK strict mode: every tool schema ops-mcp lists converts with the SDK's own
``ensure_strict_json_schema`` — called the way its MCP adapter calls it — except the few whose arguments
are free-form by nature, each named here with why."""

from __future__ import annotations

import copy
import inspect
from typing import Any

import pytest
from mcp import Client

strict_schema = pytest.importorskip(
    "agents.strict_schema", reason="openai-agents is not installed (pip install -e '.[test]' brings it)")

pytestmark = pytest.mark.anyio

# tool → its free-form properties and why they cannot be strict (strict mode needs every key declared).
COUNTRY_FORMS = {  # a country form: its fields differ per country (remote_get_country_form)
    "remote_create_employment": {"basic_information"},
    "remote_update_employment": {"basic_information", "personal_details", "address_details", "contract_details",
                                 "administrative_details", "bank_account_details", "billing_address_details",
                                 "emergency_contact_details", "pricing_plan_details"},
    "remote_create_company": {"address_details", "bank_account_details"},
    "remote_update_company": {"address_details", "bank_account_details"},
    **{f"remote_update_employment_{block}": {key} for block, key in [
        ("address_details", "address_details"), ("administrative_details", "administrative_details"),
        ("bank_account_details", "bank_account_details"), ("basic_information", "basic_information"),
        ("billing_address_details", "billing_address_details"), ("contract_details", "contract_details"),
        ("emergency_contact", "emergency_contact_details"), ("personal_details", "personal_details"),
        ("pricing_plan_details", "pricing_plan_details")]},
}
FREE_FORM = {
    **COUNTRY_FORMS,
    "remote_create_contract_amendment": {"contract_amendment"},  # the employment's amendment form
    "remote_create_custom_field": {"metadata"},  # its shape depends on the field's type
    "remoteops_create_work_order": {"metadata"},  # the customer's own keys, by the API's design
    "remoteops_update_work_order": {"metadata"},
    "ops_call_tool": {"arguments"},  # another tool's arguments
}
EVERYTHING = {"remote.*": "full", "remoteops.*": "full"}


def make_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """What ``agents.mcp.util.MCPUtil.to_function_tool`` does with an MCP tool's input schema."""
    schema = copy.deepcopy(schema)
    empty = schema == {}
    schema.setdefault("properties", {})
    options = inspect.signature(strict_schema.ensure_strict_json_schema).parameters
    if "_reject_open_objects" in options:  # the MCP adapter refuses open objects rather than closing them
        return strict_schema.ensure_strict_json_schema(schema, _reject_open_objects=not empty)
    return strict_schema.ensure_strict_json_schema(schema)


async def listed(runtime, agent: str) -> list[Any]:
    async with Client(runtime.mcp_server(resolve_agent=lambda: agent, transport="stdio")) as client:
        return (await client.list_tools()).tools


async def test_only_free_form_objects_keep_a_tool_from_strict_mode(make_runtime) -> None:
    runtime = make_runtime({
        # static, every tool, and confirmation on two areas so that the approval_id argument is listed too
        "all": {"areas": EVERYTHING, "tool_mode": "static", "confirm": ["remote.timeoff", "remoteops.invoices"]},
        "finder": {"areas": EVERYTHING, "tool_mode": "discovery"},
    })
    tools = {tool.name: tool for agent in ("all", "finder") for tool in await listed(runtime, agent)}
    catalogue = sum(len(m.endpoints) for m in runtime.catalogue.values())
    assert len(tools) == catalogue + 4  # the catalogue, the events feed, three meta-tools
    failing: dict[str, str] = {}
    for name, tool in tools.items():
        try:
            make_strict(tool.input_schema)
        except strict_schema.UserError as exc:
            failing[name] = str(exc)
    assert set(failing) == set(FREE_FORM), sorted(failing)
    for name, free in FREE_FORM.items():
        assert "permits undeclared properties" in failing[name]
        schema = tools[name].input_schema
        assert "$ref" not in str(schema) and "$defs" not in schema
        # Without its free-form properties the tool is strict: nothing else stands in the way.
        trimmed = {**schema, "properties": {k: v for k, v in schema["properties"].items() if k not in free},
                   "required": [k for k in schema.get("required", []) if k not in free]}
        make_strict(trimmed)
        for prop in free:
            assert schema["properties"][prop].get("description"), f"{name}.{prop} is not described"
    # Form objects say where their shape comes from.
    for name, props in COUNTRY_FORMS.items():
        for prop in props:
            description = tools[name].input_schema["properties"][prop]["description"]
            assert description.startswith("Shape: remote_get_country_form ("), f"{name}.{prop}: {description}"
    amendment = tools["remote_create_contract_amendment"].input_schema["properties"]["contract_amendment"]
    assert amendment["description"] == "Shape: remote_get_contract_amendment_form."
    # The two contract tools that repeated an SLA target used $ref: now inline, and strict.
    for name in ("remoteops_create_contract", "remoteops_update_contract"):
        strict = make_strict(tools[name].input_schema)
        assert strict["additionalProperties"] is False
