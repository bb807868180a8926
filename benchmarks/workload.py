"""The calls every timed figure repeats, the same requests on all sides.

Read: Remote's "show employment" — one GET of one employment exercises the whole path (policy,
validation, upstream client, shaping, audit on ops-mcp; schema-derived request building on the peer)
without measuring the sandbox's list filtering. The same call feeds the rate-limit figure.

Write: RemoteOps "create customer", a POST that carries an Idempotency-Key: ops-mcp makes the key
itself (and writes its audit record); the peer's generated tool takes the key as an argument, so the
benchmark passes a fresh one on every call, as an agent using it would have to.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .configs import sandbox_token

OPS_TOOL = "remote_get_employment"
OPERATION_ID = "get_show_employment"
BACKEND = "remote"

OPS_WRITE_TOOL = "remoteops_create_customer"
WRITE_OPERATION_ID = "createCustomer"
WRITE_BODY = {"type": "business", "name": "Benchmark Customer Ltd"}
IDEMPOTENCY_ARGUMENT = "Idempotency-Key"  # the peer's name for the header parameter


@dataclass(frozen=True)
class ReadCall:
    employment_id: str
    peer_tool: str | None = None
    peer_write_tool: str | None = None

    @property
    def arguments(self) -> dict[str, Any]:
        return {"employment_id": self.employment_id}

    @property
    def path(self) -> str:
        return f"/v1/employments/{self.employment_id}"

    def with_peer(self, peer_tools: list[dict[str, Any]]) -> ReadCall:
        names = [tool["name"] for tool in peer_tools]
        return ReadCall(self.employment_id, _named(names, OPERATION_ID), _named(names, WRITE_OPERATION_ID))


def _named(names: list[str], operation_id: str) -> str | None:
    # FastMCP names tools after the operationId (slugged); match loosely in case of a suffix.
    return next((n for n in names if n == operation_id), None) or next(
        (n for n in names if n.startswith(operation_id)), None
    )


def ops_write_arguments() -> dict[str, Any]:
    return dict(WRITE_BODY)


def peer_write_arguments() -> dict[str, Any]:
    return {IDEMPOTENCY_ARGUMENT: str(uuid.uuid4()), **WRITE_BODY}


def constant(arguments: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: arguments


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
