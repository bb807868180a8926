"""Derive a manifest from an OpenAPI 3.1 document plus a small overlay.

The overlay chooses which operations become tools and adds what OpenAPI cannot say well: stable tool
names, policy areas, one-line summaries tuned for models, destructive flags, related webhook events.
Everything else (method, path, parameter schemas, response shape, idempotency) comes from OpenAPI, so
a user holding the vendor's full document can rebuild the manifest from it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from .models import Endpoint, Manifest, Parameters, ResponseSpec

# Schema keywords kept in tool input schemas; everything else (descriptions, examples, x-*) is
# documentation that costs tokens on every turn without changing what a valid call looks like.
_INPUT_KEYWORDS = {
    "type", "enum", "const", "format", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "items",
    "properties", "required", "oneOf", "anyOf", "allOf", "default", "additionalProperties",
    "contentEncoding", "contentMediaType",
}
# A path segment must never be able to climb, split or smuggle: letters, digits, '_' and '-' only.
SAFE_SEGMENT_PATTERN = r"^[\w-]+$"
_UNSAFE_SAMPLES = ("../x", "a/b", "a%2Fb", "a\nb", "a b", "..", "a?b=c", "a#b", "a\\b")
_HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class BuildError(ValueError):
    """The OpenAPI document and the overlay do not fit together."""


def build_manifest(openapi: dict[str, Any], overlay: dict[str, Any], source: str) -> Manifest:
    operations = _index_operations(openapi)
    unknown = sorted(set(overlay["operations"]) - set(operations))
    if unknown:
        raise BuildError(f"overlay names operations missing from {source}: {', '.join(unknown)}")
    backend = overlay["backend"]
    endpoints = [
        _endpoint(openapi, operations[op_id], op_id, entry, backend)
        for op_id, entry in overlay["operations"].items()
    ]
    return Manifest.model_validate(
        {
            "format_version": 1,
            "source": source,
            "backend": backend,
            "areas": overlay["areas"],
            "endpoints": [e.model_dump(by_alias=True) for e in endpoints],
        }
    )


def build_file(openapi_path: Path, overlay_path: Path) -> Manifest:
    openapi = json.loads(openapi_path.read_text())
    overlay = json.loads(overlay_path.read_text())
    source = f"openapi/{openapi_path.name}"
    return build_manifest(openapi, overlay, source)


def dump_manifest(manifest: Manifest) -> str:
    data = manifest.model_dump(by_alias=True, exclude_defaults=False, mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def manifest_json_schema() -> str:
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ops-mcp.dev/schemas/manifest.schema.json"
    return json.dumps(schema, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# OpenAPI walking


def _index_operations(openapi: dict[str, Any]) -> dict[str, tuple[str, str, dict, list]]:
    found: dict[str, tuple[str, str, dict, list]] = {}
    for path, item in openapi.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in _HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            op_id = op.get("operationId")
            if not op_id:
                raise BuildError(f"{method.upper()} {path} has no operationId")
            found[op_id] = (method.upper(), path, op, shared)
    return found


def _resolve(doc: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Inline every local $ref (cycles are cut to a bare object)."""
    if isinstance(node, list):
        return [_resolve(doc, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            return {"type": "object"}
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(doc, merged, (*seen, ref))
    return {key: _resolve(doc, value, seen) for key, value in node.items()}


def compact_schema(schema: Any, note: str | None = None) -> Any:
    """Keep what constrains a valid value; drop documentation. ``oneOf`` of consts becomes ``enum``."""
    if not isinstance(schema, dict):
        return schema
    options = schema.get("oneOf") or schema.get("anyOf")
    if options and all(isinstance(o, dict) and "const" in o for o in options):
        schema = {**{k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")},
                  "enum": [o["const"] for o in options]}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _INPUT_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = compact_schema(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            subs = [compact_schema(sub) for sub in value]
            if key == "allOf":
                # Conditionals (if/then) are documentation here: the back end enforces them and names
                # the field; what is left of them is an empty schema that only costs tokens.
                subs = [sub for sub in subs if sub]
                if not subs:
                    continue
            out[key] = subs
        else:
            out[key] = value
    if note:
        out = {"description": note, **out}
    return out


def safe_path_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Give a string path parameter a pattern that rejects '/', '..', '%', whitespace and controls."""
    if schema.get("type") not in ("string", None) or "enum" in schema:
        return schema
    pattern = schema.get("pattern")
    if pattern and _rejects_unsafe(pattern):
        return {**schema, "type": "string"}
    return {**schema, "type": "string", "pattern": SAFE_SEGMENT_PATTERN}


def _rejects_unsafe(pattern: str) -> bool:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    return not any(compiled.search(sample) for sample in _UNSAFE_SAMPLES)


def _endpoint(doc: dict, found: tuple, op_id: str, entry: dict, backend: dict) -> Endpoint:
    method, path, op, shared = found
    notes: dict[str, str] = entry.get("param_notes", {})
    omitted = set(entry.get("omit_params", []))
    params = [p for p in _resolve(doc, [*shared, *op.get("parameters", [])]) if p.get("name") not in omitted]
    groups: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
    required: dict[str, list[str]] = {"path": [], "query": []}
    idempotency_header: dict | None = None
    for param in params:
        where, name = param["in"], param["name"]
        if where == "header":
            if name.lower() == "idempotency-key":
                idempotency_header = param
            continue  # other headers (If-Match, Accept-Language) are the client's business
        if where not in groups:
            continue
        schema = compact_schema(param.get("schema", {}), notes.get(name))
        if where == "path":
            schema = safe_path_schema(schema)
        groups[where][name] = schema
        if param.get("required") or where == "path":
            required[where].append(name)

    body, encoding = _request_body(doc, op, notes, omitted)
    flatten = _can_flatten(body, groups)
    parameters = Parameters(
        path=_object(groups["path"], required["path"]),
        query=_object(groups["query"], required["query"]),
        body=body,
        body_encoding=encoding,
        body_flattened=flatten,
    )
    access: Literal["read", "write"] = entry.get("access") or ("read" if method == "GET" else "write")
    if access not in ("read", "write"):
        raise BuildError(f"{op_id}: access must be 'read' or 'write', not {access!r}")
    key_mode: Literal["none", "optional", "required"]
    x_idem = op.get("x-idempotency")
    if x_idem == "key-required" or (idempotency_header and idempotency_header.get("required")):
        key_mode = "required"
    elif x_idem == "key-optional" or idempotency_header is not None:
        key_mode = "optional"
    else:
        key_mode = "none"
    idempotent = entry.get("idempotent")
    if idempotent is None:
        idempotent = method in ("GET", "PUT", "DELETE") or x_idem in ("safe", "idempotent")
    pagination = backend["pagination"]
    paging_params = (
        {pagination.get("page_param", "page"), pagination.get("size_param", "page_size")}
        if pagination["style"] == "page"
        else {pagination.get("limit_param", "limit"), pagination.get("cursor_param", "cursor")}
    )
    return Endpoint(
        tool=entry["tool"],
        operation_id=op_id,
        area=entry["area"],
        access=access,
        method=method,
        path=path,
        title=entry["title"],
        summary=entry["summary"],
        parameters=parameters,
        response=_response(doc, op, backend),
        destructive=bool(entry.get("destructive", method == "DELETE")),
        idempotent=bool(idempotent),
        idempotency_key=key_mode,
        paginated=method == "GET" and paging_params <= set(groups["query"]),
        events=entry.get("events", []),
        forms=entry.get("forms", []),
        token_kind=op.get("x-token-kind"),
    )


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


BodyEncoding = Literal["json", "multipart"]
_BODY_MEDIA: tuple[tuple[str, BodyEncoding], ...] = (("application/json", "json"), ("multipart/form-data", "multipart"))


def _request_body(doc: dict, op: dict, notes: dict[str, str],
                  omitted: set[str]) -> tuple[dict | None, BodyEncoding | None]:
    body = op.get("requestBody")
    if not body:
        return None, None
    body = _resolve(doc, body)
    content = body.get("content", {})
    for media, encoding in _BODY_MEDIA:
        if media in content:
            schema = content[media].get("schema", {"type": "object"})
            compacted = compact_schema(schema)
            for name in omitted & set(compacted.get("properties", {})):
                del compacted["properties"][name]
            for name, note in notes.items():
                if name in compacted.get("properties", {}):
                    compacted["properties"][name] = {"description": note, **compacted["properties"][name]}
            return compacted, encoding
    raise BuildError(f"{op.get('operationId')}: unsupported request body types {sorted(content)}")


def _can_flatten(body: dict | None, groups: dict[str, dict]) -> bool:
    if body is None:
        return True
    props = body.get("properties")
    if body.get("type") != "object" or not props:
        return False
    taken = set(groups["path"]) | set(groups["query"])
    return not (set(props) & taken)


def _response(doc: dict, op: dict, backend: dict) -> ResponseSpec:
    responses = op.get("responses", {})
    for status in sorted(code for code in responses if str(code).startswith("2")):
        response = _resolve(doc, responses[status])
        content = response.get("content")
        if not content:
            return ResponseSpec(status=int(status), schema={"type": "object", "properties": {}})
        media = next(iter(content))
        if "json" not in media:
            return ResponseSpec(
                status=int(status),
                content_type=media,
                schema={
                    "type": "object",
                    "properties": {"content_type": {"type": "string"}, "size": {"type": "integer"},
                                   "uri": {"type": "string"}},
                },
            )
        schema = content[media].get("schema", {})
        unwrap, inner, list_key = _unwrap(schema, backend)
        return ResponseSpec(status=int(status), unwrap=unwrap, schema=_summarise(inner), list_key=list_key)
    raise BuildError(f"{op.get('operationId')}: no 2xx response")


def _unwrap(schema: dict, backend: dict) -> tuple[list[str], dict, str | None]:
    """Peel the back end's data envelope (and a lone resource key) while the result stays an object."""
    data_key = (backend.get("envelope") or {}).get("data_key", "data")
    path: list[str] = []
    props = schema.get("properties", {})
    enveloped = bool(data_key) and data_key in props and props[data_key].get("type") == "object"
    if enveloped:
        path.append(data_key)
        schema = props[data_key]
        props = schema.get("properties", {})
    # A lone resource key is peeled too, inside the envelope or, for operations that answer without
    # it (Remote's `{payroll_run: {...}}`, `{company_manager: {...}}`), at the top.
    if data_key and len(props) == 1:
        (only_key, only), = props.items()
        if only.get("type") == "object" and only.get("properties"):
            path.append(only_key)
            schema = only
            props = schema.get("properties", {})
    arrays = [k for k, v in props.items() if v.get("type") == "array"]
    paging = {"current_page", "total_pages", "has_more", "next_cursor"} & set(props)
    list_key = arrays[0] if arrays and (paging or len(props) == 1) else None
    return path, schema, list_key


def _summarise(schema: dict) -> dict:
    """A compact response schema: top-level property types, and the item fields of lists."""
    out: dict[str, Any] = {"type": "object", "properties": {}}
    for name, sub in schema.get("properties", {}).items():
        entry: dict[str, Any] = {"type": sub.get("type", "object")} if sub.get("type") else {}
        if sub.get("type") == "array":
            items = sub.get("items", {})
            if items.get("properties"):
                entry["items"] = {"type": "object", "properties": {
                    key: ({"type": val["type"]} if "type" in val else {})
                    for key, val in items["properties"].items()
                }}
        out["properties"][name] = entry
    if schema.get("type") != "object" and not out["properties"]:
        out["additionalProperties"] = True
    return out
