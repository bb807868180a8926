"""The read call every timed figure repeats: Remote's "show employment", the same request on all sides.

One GET of one employment exercises the whole path (policy, validation, upstream client, shaping,
audit on ops-mcp; schema-derived request building on the peer) without measuring the sandbox's
list filtering. The same call against Remote also feeds the rate-limit figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .configs import sandbox_token

OPS_TOOL = "remote_get_employment"
OPERATION_ID = "get_show_employment"
BACKEND = "remote"


@dataclass(frozen=True)
class ReadCall:
    employment_id: str
    peer_tool: str | None = None

    @property
    def arguments(self) -> dict[str, Any]:
        return {"employment_id": self.employment_id}

    @property
    def path(self) -> str:
        return f"/v1/employments/{self.employment_id}"

    def with_peer(self, peer_tools: list[dict[str, Any]]) -> ReadCall:
        names = [tool["name"] for tool in peer_tools]
        # FastMCP names tools after the operationId (slugged); match loosely in case of a suffix.
        found = next((n for n in names if n == OPERATION_ID), None) or next(
            (n for n in names if n.startswith(OPERATION_ID)), None
        )
        return ReadCall(self.employment_id, found)


def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox_token(BACKEND)}"}


def discover(remote_base: str) -> ReadCall:
    """An employment that exists in this sandbox's seed."""
    body = httpx.get(remote_base + "/v1/employments", headers=headers(), timeout=30).raise_for_status().json()
    return ReadCall(body["data"]["employments"][0]["id"])


def is_error(result: dict[str, Any]) -> bool:
    return bool(result.get("isError"))


def result_text(result: dict[str, Any]) -> str:
    return " ".join(part.get("text", "") for part in result.get("content", []) if isinstance(part, dict))
