"""A 404 whose code the profile lists as "not ready yet" says to try later, not that the id is wrong."""

from __future__ import annotations

from ops_mcp.catalogue import load_catalogue
from ops_mcp.upstream.errors import ErrorContext, map_http_error


def test_a_not_ready_code_from_the_profile_says_try_again_later() -> None:
    codes = frozenset(load_catalogue()["remoteops"].backend.errors.not_ready_codes)
    ctx = ErrorContext("Northwind", "RemoteOps", thing="call", object_id="call_1", not_ready_codes=codes)
    body = {"code": "transcript-not-ready", "detail": "still being produced"}
    error = map_http_error(404, body, ctx)
    assert error.message.startswith("The call's transcript is not ready yet.")
    assert "Try again in a minute" in error.message and "Do not guess ids" not in error.message


def test_without_the_profile_the_same_404_is_an_unknown_id() -> None:
    ctx = ErrorContext("Northwind", "RemoteOps", thing="call", object_id="call_1")
    error = map_http_error(404, {"code": "transcript-not-ready"}, ctx)
    assert "has no call with id call_1" in error.message
