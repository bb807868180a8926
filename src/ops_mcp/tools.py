"""Manifest endpoint → MCP tool definition (name, title, description, schemas, annotations).

The advertised schema is what every agent pays for on every turn, so it carries only what changes a
valid call: types, enums, formats, required fields and short notes. Validation uses the same schema
with unknown top-level arguments refused.
"""

from __future__ import annotations

from typing import Any

from .catalogue.models import Endpoint, Manifest

# Arguments ops-mcp adds on top of the upstream parameters.
FIELDS_ARG = "fields"
MAX_ITEMS_ARG = "max_items"
MAX_ITEMS_LIMIT = 1000
_FIELDS_SCHEMA = {"type": "array", "items": {"type": "string"}, "description": "Return only these fields"}
_MAX_ITEMS_SCHEMA = {
    "type": "integer", "minimum": 1, "maximum": MAX_ITEMS_LIMIT, "description": "Walk pages up to N items",
}


def input_schema(endpoint: Endpoint) -> dict[str, Any]:
    params = endpoint.parameters
    properties: dict[str, Any] = {}
    required: list[str] = []
    for group in (params.path, params.query):
        properties.update(group.get("properties", {}))
        required.extend(group.get("required", []))
    if params.body is not None:
        if params.body_flattened:
            properties.update(params.body.get("properties", {}))
            required.extend(params.body.get("required", []))
        else:
            properties["body"] = params.body
            required.append("body")
    if endpoint.access == "read":
        properties[FIELDS_ARG] = _FIELDS_SCHEMA
    if endpoint.paginated:
        properties[MAX_ITEMS_ARG] = _MAX_ITEMS_SCHEMA
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(dict.fromkeys(required))
    return schema


def output_schema(endpoint: Endpoint) -> dict[str, Any]:
    """Top-level property names and types of the shaped result (lenient: extra keys allowed)."""
    props = {
        name: ({"type": sub["type"]} if isinstance(sub.get("type"), str) else {})
        for name, sub in endpoint.response.schema_.get("properties", {}).items()
    }
    return {"type": "object", "properties": props} if props else {"type": "object"}


def annotations(endpoint: Endpoint) -> dict[str, bool]:
    read = endpoint.access == "read"
    return {
        "readOnlyHint": read,
        "destructiveHint": (not read) and endpoint.destructive,
        "idempotentHint": read or endpoint.idempotent,
        "openWorldHint": True,
    }


def tool_definition(endpoint: Endpoint) -> dict[str, Any]:
    """The wire form (camelCase) of one tool, as ``tools/list`` returns it."""
    return {
        "name": endpoint.tool,
        "title": endpoint.title,
        "description": endpoint.summary,
        "inputSchema": input_schema(endpoint),
        "outputSchema": output_schema(endpoint),
        "annotations": annotations(endpoint),
    }


def catalogue_definitions(catalogue: dict[str, Manifest]) -> list[dict[str, Any]]:
    return [tool_definition(e) for manifest in catalogue.values() for e in manifest.endpoints]


def validation_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The advertised schema, refusing unknown top-level arguments."""
    return {**input_schema(endpoint), "additionalProperties": False}
