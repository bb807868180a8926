"""The shared upstream client: auth, rate limits, retries, idempotency, pagination, shaping, errors.

One ``UpstreamClient`` serves every MCP session; see ``client.py`` for the sequence of a call and
the module that does each step.
Names load on first use (PEP 562): building connections at start-up must not import httpx, which the
first ``tools/list`` never needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BinaryContent": "outcome", "CallOutcome": "outcome", "ClientLimits": "client", "UpstreamClient": "client",
    "Connection": "connection", "OAuthCredentials": "connection",
    "UpstreamCallError": "errors", "UpstreamError": "errors",
    "UpstreamEvent": "events", "UpstreamStats": "events",
    "RetryPolicy": "retry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
