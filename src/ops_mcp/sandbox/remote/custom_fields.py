"""Custom employment fields: definitions (list, create) and values per employment (list, show,
update). A value is checked against its field's type; single_select takes an option value."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.remote.envelopes import json_body, paginated, require_fields, single
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

TYPES = ("string", "text", "integer", "date", "boolean", "percentage", "decimal", "link", "currency", "single_select")
ACCESS = ("company_admin_only", "employee_only", "everyone")
VISIBILITY = ("company_admin_only", "everyone")
URL = re.compile(r"^https?://\S+$")


@router.op("GET", "/v1/custom-fields", "custom_field:write")
async def list_custom_fields(ctx: Ctx) -> Response:
    fields = sorted(ctx.state.records("custom_fields", ctx.company_ids), key=lambda f: (f["name"], f["id"]))
    return paginated(ctx.request, "custom_fields", fields)


def _metadata_errors(kind: str, metadata: Any) -> list[str]:
    if kind == "single_select":
        options = metadata.get("options") if isinstance(metadata, dict) else None
        if not isinstance(options, list) or not options or not all(
                isinstance(o, dict) and isinstance(o.get("value"), str) and isinstance(o.get("label"), str)
                for o in options):
            return ["must have options: [{value, label}, ...]"]
    if kind == "currency":
        currency = metadata.get("currency") if isinstance(metadata, dict) else None
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            return ["must have currency (ISO 4217 code)"]
    if metadata is not None and not isinstance(metadata, dict):
        return ["Should be object"]
    return []


@router.op("POST", "/v1/custom-fields", "custom_field:write")
async def create_custom_field(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "name", "type", "data_entry_access", "visibility_scope")
    allowed = {"name", "type", "required", "data_entry_access", "visibility_scope", "metadata"}
    errors: dict[str, list[str]] = {k: ["is not a permitted field"] for k in sorted(set(body) - allowed)}
    if not isinstance(body["name"], str) or not body["name"].strip() or len(body["name"]) > 255:
        errors["name"] = ["must be 1 to 255 characters"]
    for name, choices in (("type", TYPES), ("data_entry_access", ACCESS), ("visibility_scope", VISIBILITY)):
        if body[name] not in choices:
            errors[name] = ["is invalid"]
    if not isinstance(body.get("required"), bool):
        errors["required"] = ["must be true or false"]
    if "type" not in errors:
        problems = _metadata_errors(body["type"], body.get("metadata"))
        if problems:
            errors["metadata"] = problems
    if errors:
        raise invalid(errors)
    company_id = ctx.company_id
    if any(f["name"].strip().lower() == body["name"].strip().lower()
           for f in ctx.state.records("custom_fields", (company_id,))):
        raise conflict("A custom field with this name already exists")
    record = {"id": ctx.state.new_id(), "name": body["name"].strip(), "type": body["type"],
              "required": body["required"], "data_entry_access": body["data_entry_access"],
              "visibility_scope": body["visibility_scope"], "metadata": body.get("metadata"),
              "_company_id": company_id}
    ctx.state.data["custom_fields"][record["id"]] = record
    return single("custom_field", record)


def _value_view(record: dict[str, Any]) -> dict[str, Any]:
    return {"custom_field_id": record["custom_field_id"], "value": record["value"]}


@router.op("GET", "/v1/employments/{employment_id}/custom-fields", "custom_field_value:read")
async def list_values(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    values = {v["custom_field_id"]: v for v in ctx.state.records("custom_field_values", ctx.company_ids)
              if v["_employment_id"] == employment["id"]}
    fields = sorted(ctx.state.records("custom_fields", (employment["_company_id"],)), key=lambda f: (f["name"], f["id"]))
    rows = [_value_view(values[f["id"]]) if f["id"] in values else {"custom_field_id": f["id"], "value": None}
            for f in fields]
    return paginated(ctx.request, "custom_field_values", rows)


def _field_and_employment(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    field = ctx.get("custom_fields", ctx.param("custom_field_id"), "Custom field")
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    return field, employment


@router.op("GET", "/v1/custom-fields/{custom_field_id}/values/{employment_id}", "custom_field_value:read")
async def show_value(ctx: Ctx) -> Response:
    field, employment = _field_and_employment(ctx)
    record = ctx.state.data["custom_field_values"].get(f"{field['id']}:{employment['id']}")
    return single("custom_field_value", _value_view(record) if record else {"custom_field_id": field["id"],
                                                                            "value": None})


def _coerce(field: dict[str, Any], value: Any) -> Any:
    """The stored value for `value`, or raise 422 naming what the field's type allows."""
    kind = field["type"]
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in ("integer", "currency") and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in ("decimal", "percentage") and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind in ("string", "text") and isinstance(value, str) and len(value) <= (255 if kind == "string" else 5000):
        return value
    if kind == "date" and is_valid_date(value):
        return value
    if kind == "link" and isinstance(value, str) and URL.match(value):
        return value
    if kind == "single_select" and isinstance(value, str):
        options = {o["value"]: o["label"] for o in (field.get("metadata") or {}).get("options", [])}
        if value in options:
            return {"selected_option": value, "selected_option_label": options[value]}
        raise invalid_field("value", f"must be one of the field's options: {', '.join(options)}")
    raise invalid_field("value", f"is not a valid {kind} value")


@router.op("PATCH", "/v1/custom-fields/{custom_field_id}/values/{employment_id}", "custom_field_value:write")
async def update_value(ctx: Ctx) -> Response:
    field, employment = _field_and_employment(ctx)
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - {"value"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if "value" not in body:
        raise invalid_field("value", "can't be blank")
    key = f"{field['id']}:{employment['id']}"
    record = {"id": key, "custom_field_id": field["id"], "value": _coerce(field, body["value"]),
              "_employment_id": employment["id"], "_company_id": employment["_company_id"]}
    ctx.state.data["custom_field_values"][key] = record
    await ctx.emit("custom_field.value_updated", employment["_company_id"], employment_id=employment["id"],
                   custom_field_id=field["id"])
    return single("custom_field_value", _value_view(record))
