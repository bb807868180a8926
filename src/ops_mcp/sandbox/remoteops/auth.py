"""Bearer API keys: `rops_test_…` reach a sandbox tenant, `rops_live_…` are the wrong environment."""

from __future__ import annotations

from ops_mcp.sandbox.remoteops.credentials import API_KEYS, ApiKey
from ops_mcp.sandbox.remoteops.problems import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="remoteops", error="invalid_token"'}


def authenticate(authorization: str | None) -> ApiKey:
    if not authorization:
        raise ApiError(401, "unauthenticated", "Send 'Authorization: Bearer rops_test_…' with a sandbox API key.",
                       headers={"WWW-Authenticate": 'Bearer realm="remoteops"'})
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthenticated", "Use the Bearer scheme: 'Authorization: Bearer <api key>'.",
                       headers=_CHALLENGE)
    if token.startswith("rops_live_"):
        raise ApiError(401, "unauthenticated",
                       "This is a live key, but this is the sandbox environment; use a rops_test_ key.",
                       headers=_CHALLENGE)
    key = API_KEYS.get(token)
    if key is None:
        raise ApiError(401, "unauthenticated", "The API key is not valid.", headers=_CHALLENGE)
    return key
