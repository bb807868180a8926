"""Manifest endpoint → MCP tool definition (name, title, description, schemas, annotations).

The advertised schema is what every agent pays for on every turn, so it carries only what changes a
valid call: types, enums, formats, required fields and short notes. Validation uses the same schema
with unknown top-level arguments refused.
"""

from __future__ import annotations

import re
from typing import Any

# ops-mcp's own arguments (FIELDS_ARG, MAX_ITEMS_ARG) live with the manifest models, where the upstream
# client reads them too; re-exported here for the code that always imported them from this module.
from .models import FIELDS_ARG as FIELDS_ARG
from .models import MAX_ITEMS_ARG as MAX_ITEMS_ARG
from .models import Endpoint, Manifest

MAX_ITEMS_LIMIT = 1000
_FIELDS_SCHEMA = {"type": "array", "items": {"type": "string"}}
_MAX_ITEMS_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS_LIMIT}
_MAX_ITEMS_ADVERTISED = {"type": "integer", "maximum": MAX_ITEMS_LIMIT}
# Keywords that never change what a model should send: defaults are applied upstream, and
# additionalProperties/uniqueItems/content hints are enforced by validation, not worth tokens on every turn.
_UNADVERTISED = frozenset({
    "default", "additionalProperties", "uniqueItems", "contentEncoding", "contentMediaType",
    "minLength", "maxLength", "maxItems",
})
# Enums longer than this are advertised as a short note with examples; validation still enforces them
# and a wrong value gets an error listing every allowed one.
LONG_ENUM = 30
_ID_PATTERN = re.compile(r"^\^[a-z]+_\[A-Za-z0-9\]\+\$$")


def input_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The advertised input schema: the validation schema without keywords a model does not need.

    Self-contained (no ``$ref``/``$defs``): clients that make tool schemas strict (the OpenAI Agents SDK)
    refuse a schema whose references they cannot check, and the few repeated sub-schemas cost little inline.
    """
    schema = _full_input_schema(endpoint)
    path_params = set(endpoint.parameters.path.get("properties", {}))
    properties = {
        name: _advertise(sub, keep_id_pattern=name in path_params) for name, sub in schema["properties"].items()
    }
    if MAX_ITEMS_ARG in properties:
        properties[MAX_ITEMS_ARG] = _MAX_ITEMS_ADVERTISED
    return {**schema, "properties": properties}


def _advertise(schema: Any, *, keep_id_pattern: bool = False) -> Any:
    """Drop what a model does not need to form a valid call; the validation schema keeps it all.

    - ``type`` beside ``enum``/``const``: the values already say it;
    - id-prefix patterns (``^wo_[A-Za-z0-9]+$``) except on path parameters, where they guard the URL;
    - very long enums become a note with examples.
    """
    if isinstance(schema, list):
        return [_advertise(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _UNADVERTISED:
            continue
        if key == "properties":
            out[key] = {name: _advertise(sub) for name, sub in value.items()}
        elif key == "pattern" and not keep_id_pattern and isinstance(value, str) and _ID_PATTERN.match(value):
            continue
        else:
            out[key] = _advertise(value)
    enum = out.get("enum")
    if isinstance(enum, list) and len(enum) > LONG_ENUM:
        examples = ", ".join(map(str, enum[:4]))
        note = f"One of {len(enum)} values, e.g. {examples}"
        out.pop("enum")
        out["description"] = f"{out['description']}. {note}" if out.get("description") else note
    elif ("enum" in out or "const" in out) and isinstance(out.get("type"), str):
        out.pop("type")
    return out


def _full_input_schema(endpoint: Endpoint) -> dict[str, Any]:
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
    """Lists name their items key and paging fields; single resources are plain objects.

    The manifest keeps the fuller response schema; advertising every field of every resource would
    cost thousands of tokens per turn and tell a model little that the result itself does not.
    """
    response = endpoint.response
    if response.list_key is None:
        return {"type": "object"}
    paging = ("total_pages", "next_cursor")
    props: dict[str, Any] = {response.list_key: {"type": "array"}}
    for name, sub in response.schema_.get("properties", {}).items():
        if name in paging and isinstance(sub.get("type"), str | list):
            props[name] = {"type": sub["type"]}
    return {"type": "object", "properties": props}


def tool_annotations(endpoint: Endpoint) -> dict[str, bool]:
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
        "annotations": tool_annotations(endpoint),
    }


def catalogue_definitions(catalogue: dict[str, Manifest]) -> list[dict[str, Any]]:
    return [tool_definition(e) for manifest in catalogue.values() for e in manifest.endpoints]


def validation_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The full schema, refusing unknown top-level arguments."""
    return {**_full_input_schema(endpoint), "additionalProperties": False}
