"""Turning outcomes into MCP tool results: structuredContent plus compact JSON text, files as resources."""

from __future__ import annotations

import base64
import json
from typing import Any

import mcp_types as t

from ..catalogue.models import Endpoint


def error_result(message: str) -> t.CallToolResult:
    return t.CallToolResult(content=[t.TextContent(type="text", text=message)], is_error=True)


def json_result(data: dict[str, Any]) -> t.CallToolResult:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return t.CallToolResult(content=[t.TextContent(type="text", text=text)], structured_content=data)


def outcome_result(endpoint: Endpoint, outcome: Any) -> t.CallToolResult:
    binary = outcome.binary
    if binary is None:
        return json_result(outcome.data if isinstance(outcome.data, dict) else {"result": outcome.data})
    uri = _resource_uri(endpoint, binary)
    summary = {"content_type": binary.mime_type, "size": len(binary.data), "uri": uri}
    blob = t.BlobResourceContents(uri=uri, mime_type=binary.mime_type, blob=base64.b64encode(binary.data).decode())
    return t.CallToolResult(
        content=[
            t.TextContent(type="text", text=json.dumps(summary, separators=(",", ":"))),
            t.EmbeddedResource(type="resource", resource=blob),
        ],
        structured_content=summary,
    )


def _resource_uri(endpoint: Endpoint, binary: Any) -> str:
    name = getattr(binary, "filename", None) or endpoint.tool
    return f"ops-mcp://{endpoint.area.split('.', 1)[0]}/files/{name}"
