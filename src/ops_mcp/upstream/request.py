"""Tool arguments → an HTTP request (path, query, body), validated before anything is sent.

Path values are checked against their schema, refused when they could change the path ('.',
'..', control characters), then percent-encoded as one segment each, so no argument can reach
another resource. ops-mcp's own arguments (``fields``, ``max_items``) never go upstream.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..catalogue.models import FIELDS_ARG, MAX_ITEMS_ARG, Endpoint, JsonSchema
from ..catalogue.quick_check import certainly_valid
from ..records import Record

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

OPS_ONLY_ARGS = (FIELDS_ARG, MAX_ITEMS_ARG)
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Upload fields carried as base64 text inside a JSON argument.
BASE64_FIELD = "content_base64"
_BASE64_NAMES = {BASE64_FIELD, "content"}
_FILE_META = ("filename", "content_type", "mime_type")


class InvalidArguments(ValueError):
    """Arguments that cannot be turned into a request; the message names the field."""


class PreparedRequest(Record):
    __slots__ = ("method", "path", "params", "json_body", "has_json_body", "form_data", "files", "object_id")
    method: str
    path: str  # relative to the connection's base URL, already encoded
    params: dict[str, str]
    json_body: Any
    has_json_body: bool
    form_data: dict[str, str] | None
    files: dict[str, tuple[str, bytes, str]] | None
    object_id: str | None  # the last path parameter, for "no <thing> with id X" messages

    def __init__(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        has_json_body: bool = False,
        form_data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        object_id: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.params = {} if params is None else params
        self.json_body = json_body
        self.has_json_body = has_json_body
        self.form_data = form_data
        self.files = files
        self.object_id = object_id

    def with_params(self, extra: Mapping[str, Any]) -> PreparedRequest:
        """The same request with query parameters added, replaced or (value None) removed."""
        params = dict(self.params)
        for key, value in extra.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = query_value(value)
        return self.replace(params=params)


def query_value(value: Any) -> str:
    """Query encoding: booleans lowercase, lists comma-separated (Remote's multi-status style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(query_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class PathRules:
    """The schemas of one endpoint's path parameters, each compiled into a validator once.

    A value the quick check is sure of needs nothing more; jsonschema (~25 ms to import) is loaded when a
    value first needs it, and each parameter's validator is then reused for every call.
    """

    def __init__(self, path_schema: JsonSchema) -> None:
        self._schemas: dict[str, JsonSchema] = {
            name: schema
            for name, schema in path_schema.get("properties", {}).items()
            if isinstance(schema, dict) and schema
        }
        self._validators: dict[str, Validator] = {}

    def problem(self, name: str, value: str | int) -> str | None:
        """The first rule ``value`` breaks (e.g. "pattern '^wo_'"), or None when it is valid."""
        schema = self._schemas.get(name)
        if schema is None or _certainly_valid(schema, value):
            return None
        validator = self._validators.get(name)
        if validator is None:
            validator = self._validators[name] = _compile(schema)
        first = min(validator.iter_errors(value), key=lambda e: e.path, default=None)
        if first is None:
            return None
        return f"{first.validator} {first.validator_value!r:.80}"


def _certainly_valid(schema: JsonSchema, value: str | int) -> bool:
    """The quick check (``catalogue/quick_check.py``) for a flat path schema, with ``pattern`` as jsonschema
    applies it here (Python's ``re``, no ECMA translation); anything nested is left to jsonschema."""
    if any(isinstance(rule, dict | list) for key, rule in schema.items() if key != "enum"):
        return False
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and isinstance(value, str) and re.search(pattern, value) is None:
        return False
    return certainly_valid(schema, value)


def _compile(schema: JsonSchema) -> Validator:
    from jsonschema import Draft202012Validator  # lazy: start-up stays lean; cached by PathRules

    return Draft202012Validator(schema)


def encode_segment(name: str, value: Any, rules: PathRules) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidArguments(f"path argument '{name}' must be a string or integer")
    text = str(value)
    problem = rules.problem(name, value)
    if problem is not None:
        # Say which rule failed, not the value: it may be long or full of control characters.
        raise InvalidArguments(f"path argument '{name}' is invalid ({problem})")
    if not text or text in (".", "..") or _CONTROL.search(text):
        raise InvalidArguments(f"path argument '{name}' is not a valid id")
    return quote(text, safe="")


def check_base64(name: str, value: Any, limit: int, *, strict: bool) -> bytes | None:
    """Decode (strict) or size-check (lenient) one base64 upload; errors name the field."""
    if not isinstance(value, str):
        return None
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    approx = len(text) * 3 // 4
    if approx > limit:
        raise InvalidArguments(
            f"'{name}' is too large: about {approx // 1024} KiB decoded, the limit is {limit // 1024} KiB"
        )
    if not strict:
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArguments(f"'{name}' must be base64-encoded file content") from exc
    if len(data) > limit:
        raise InvalidArguments(
            f"'{name}' is too large: {len(data) // 1024} KiB, the limit is {limit // 1024} KiB"
        )
    return data


def _check_uploads(value: Any, limit: int, prefix: str = "") -> None:
    """Size-check base64 fields anywhere in a JSON body (e.g. Remote's ``document.content``)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            path = f"{prefix}.{key}" if prefix else key
            if key in _BASE64_NAMES and isinstance(sub, str):
                check_base64(path, sub, limit, strict=key == BASE64_FIELD)
            else:
                _check_uploads(sub, limit, path)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            _check_uploads(sub, limit, f"{prefix}[{index}]")


def _multipart(
    body: dict[str, Any], schema: JsonSchema | None, limit: int
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """A JSON body with ``content_base64`` (+ filename, content_type) → form fields and one file."""
    props = (schema or {}).get("properties", {})
    file_field = next(
        (k for k, s in props.items() if isinstance(s, dict) and s.get("format") == "binary"), "file"
    )
    data: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for key, value in body.items():
        if key in _FILE_META or value is None:
            continue
        if key == BASE64_FIELD or (key == file_field and isinstance(value, str)):
            content = check_base64(key, value, limit, strict=True)
            filename = str(body.get("filename") or "upload")
            mime = str(body.get("content_type") or body.get("mime_type") or "application/octet-stream")
            files[file_field] = (filename, content or b"", mime)
        elif isinstance(value, dict | list):
            data[key] = json.dumps(value, separators=(",", ":"))
        else:
            data[key] = query_value(value)
    if not files:
        raise InvalidArguments(f"'{BASE64_FIELD}' (the file, base64-encoded) is required for this upload")
    return data, files


def build_request(
    endpoint: Endpoint,
    arguments: Mapping[str, Any],
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    path_rules: PathRules | None = None,
) -> PreparedRequest:
    """``path_rules``: the endpoint's compiled path checks (the client keeps one per endpoint)."""
    params = endpoint.parameters
    args = {k: v for k, v in arguments.items() if k not in OPS_ONLY_ARGS}
    rules = path_rules if path_rules is not None else PathRules(params.path)
    query_props = params.query.get("properties", {})

    def segment(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in args or args[name] is None:
            raise InvalidArguments(f"missing required path argument '{name}'")
        return encode_segment(name, args[name], rules)

    placeholders = _PLACEHOLDER.findall(endpoint.path)
    path = _PLACEHOLDER.sub(segment, endpoint.path)
    object_id = str(args[placeholders[-1]]) if placeholders else None

    query = {
        k: query_value(v)
        for k, v in args.items()
        if k in query_props and k not in placeholders and v is not None
    }
    used = set(placeholders) | set(query_props)

    body: Any = None
    has_body = False
    if params.body is not None:
        if params.body_flattened:
            body_props = params.body.get("properties", {})
            accepted = set(body_props)
            if params.body_encoding == "multipart":
                accepted |= {BASE64_FIELD, *_FILE_META}  # the JSON form of a file upload
            body = {k: v for k, v in args.items() if k in accepted and k not in used}
            used |= accepted
        else:
            body = args.get("body")
            used.add("body")
        has_body = True
    unknown = sorted(k for k in args if k not in used)
    if unknown:
        raise InvalidArguments(f"unknown argument{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")

    prepared = PreparedRequest(endpoint.method, path, query, object_id=object_id)
    if has_body and params.body_encoding == "multipart":
        if not isinstance(body, dict):
            raise InvalidArguments("the upload arguments must be an object")
        prepared.form_data, prepared.files = _multipart(body, params.body, max_upload_bytes)
    elif has_body:
        _check_uploads(body, max_upload_bytes)
        prepared.json_body = body
        prepared.has_json_body = True
    return prepared
