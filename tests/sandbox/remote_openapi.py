"""Helpers for checking emulator answers against `tool_manifests/openapi/remote.json`."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

DOC_PATH = Path(__file__).parents[2] / "tool_manifests" / "openapi" / "remote.json"
METHODS = ("get", "post", "put", "patch", "delete")


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return json.loads(DOC_PATH.read_text())


def bearer_operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation) of every operation called with a bearer token."""
    return [(method.upper(), path, op) for path, item in document()["paths"].items()
            for method, op in item.items() if method in METHODS and op.get("security") == [{"bearer": []}]]


def _response(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    schema = doc["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in schema:
        schema = doc["components"]["responses"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def problems(method: str, path: str, response: httpx.Response) -> list[str]:
    """What is wrong with `response` for the operation, per the document (empty when it conforms)."""
    doc = document()
    responses = doc["paths"][path][method.lower()]["responses"]
    if str(response.status_code) not in responses:
        return [f"status {response.status_code} is not documented (documented: {sorted(responses)})"]
    spec = _response(doc, method, path, response.status_code)
    content = spec.get("content", {})
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media not in content:
        return [f"content type {media!r} is not documented ({sorted(content)})"]
    if "json" not in media:
        return [] if response.content.startswith(b"%PDF") or media != "application/pdf" else ["not a PDF"]
    body = content[media]["schema"]
    registry = Registry().with_resource("urn:remote", DRAFT202012.create_resource(doc))
    rooted = json.loads(json.dumps(body).replace('"#/components', '"urn:remote#/components'))
    validator = Draft202012Validator(rooted, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(response.json())][:5]


def concrete(path: str, values: dict[str, str]) -> str:
    """The path template with its parameters filled from `values` (by parameter name)."""
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)
