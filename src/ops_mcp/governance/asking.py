"""The ways of putting a question to a person through an MCP client, and what the client can do.

Form mode (in-client "Approve this action?") is for ``confirm_via = "client"`` agents only; URL mode
sends the person to the approval page, where they decide signed in as themselves. Handshake-era
sessions are asked at once over the session; 2026-07-28 requests get an ``InputRequiredResult`` with a
sealed ``request_state`` and come back with it.
"""

from __future__ import annotations

import logging
from typing import Any

import mcp_types as t
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..text import neutralise

log = logging.getLogger("ops_mcp.confirmation")

ELICIT_KEY = "confirm"
FORM = {
    "type": "object",
    "properties": {
        "confirm": {"type": "boolean", "title": "Approve this action", "default": True},
    },
}
# URL mode exists from this handshake version on (and in every 2026 version).
_URL_MODE_SINCE = "2025-11-25"


def is_modern(ctx: Any) -> bool:
    return ctx is not None and getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS


def _elicitation(ctx: Any) -> Any:
    if ctx is None:
        return None
    try:
        caps = ctx.client_capabilities
    except Exception:  # no request context (e.g. a direct call in-process)
        return None
    return caps.elicitation if caps is not None else None


def can_ask_form(ctx: Any) -> bool:
    elicitation = _elicitation(ctx)
    if elicitation is None:
        return False
    # An empty capability object predates modes and means form mode.
    return elicitation.form is not None or elicitation.url is None


def can_open_url(ctx: Any) -> bool:
    elicitation = _elicitation(ctx)
    if elicitation is None or elicitation.url is None:
        return False
    version = getattr(ctx, "protocol_version", None)
    return is_modern(ctx) or (isinstance(version, str) and version >= _URL_MODE_SINCE)


def form_question(message: str, sealed: str) -> t.InputRequiredResult:
    request = t.ElicitRequest(params=t.ElicitRequestFormParams(message=message, requested_schema=FORM))
    return t.InputRequiredResult(input_requests={ELICIT_KEY: request}, request_state=sealed)


def url_question(message: str, url: str, sealed: str) -> t.InputRequiredResult:
    request = t.ElicitRequest(params=t.ElicitRequestURLParams(message=message, url=url))
    return t.InputRequiredResult(input_requests={ELICIT_KEY: request}, request_state=sealed)


async def ask_form_now(ctx: Any, message: str) -> t.ElicitResult | None:
    """Ask on a handshake-era session; None when the transport cannot carry the question."""
    from mcp import MCPError

    try:
        return await ctx.session.elicit_form(message, FORM, related_request_id=ctx.request_id)
    except MCPError as exc:
        # NoBackChannelError (stateless HTTP, JSON responses) or a client that declared elicitation but
        # failed to ask: a person can still decide through a pending approval.
        log.info("could not ask over the session (%s); creating a pending approval", type(exc).__name__)
        return None


async def open_url_now(ctx: Any, message: str, url: str, elicitation_id: str) -> t.ElicitResult | None:
    """Send the person to ``url`` on a handshake-era session. The answer only says whether the client
    opened it; the decision is made on the page."""
    from mcp import MCPError

    try:
        return await ctx.session.elicit_url(message, url, elicitation_id, related_request_id=ctx.request_id)
    except MCPError as exc:
        log.info("could not send the approval link over the session (%s)", type(exc).__name__)
        return None


def client_user(call: Any) -> str:
    """Who answered an in-client question, as well as we can tell: the authenticated principal, else the
    client's own (self-reported, unauthenticated) name for its user."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    if token is not None:
        return str(getattr(token, "subject", None) or token.client_id)
    client = None
    try:
        params = call.mcp_context.session.client_params
        client = params.client_info.name if params and params.client_info else None
    except Exception:  # 2026 connections may carry no client info
        client = None
    return f"user of {call.agent}" + (f" via {neutralise(client, 80)}" if client else "")
