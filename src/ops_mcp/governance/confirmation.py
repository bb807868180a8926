"""A person's yes before a confirm-listed write, whatever the client can do.

Three ways to ask, chosen per call from what the client declared:

- handshake-era client with elicitation: ask now with ``session.elicit_form`` and wait for the answer;
- 2026-07-28 client with elicitation: return an ``InputRequiredResult`` whose ``request_state`` is
  sealed and bound to agent, tool, argument hash and expiry (``sealing.py``); the client retries with
  the person's answer and the state, which we verify and burn (single use);
- a client that cannot ask (or a transport with no back channel): record a pending approval, tell the
  agent to wait for a person running ``ops-mcp approvals approve ID``, and let exactly one retry with
  ``approval_id`` and the same arguments through (``approvals.py``).

The executor calls ``strip`` (removes ``approval_id`` before validation) and then ``confirm``; this
module never reaches the upstream itself, so a refusal here means no request was made.
"""

from __future__ import annotations

import contextvars
import logging
from datetime import UTC, datetime
from typing import Any

import mcp_types as t
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..audit import Redaction
from ..calls.context import CallContext, Confirmed
from ..calls.results import error_result
from ..catalogue.models import Endpoint
from .approvals import ApprovalStore, Redemption, args_hash
from .sealing import StateRejected, StateSealer
from .summaries import Summarizer

log = logging.getLogger("ops_mcp.confirmation")

APPROVAL_ARG = "approval_id"
APPROVAL_SCHEMA = {
    "type": "string",
    "description": "Only when re-calling after a person approved a pending approval: its id",
}
ELICIT_KEY = "confirm"
_FORM = {
    "type": "object",
    "properties": {
        "confirm": {"type": "boolean", "title": "Approve this action", "default": True},
    },
}
# ``strip`` runs right before ``confirm`` in the same task; the id travels between them here because
# the executor hands ``confirm`` the arguments without it (they are what gets validated and sent).
_approval_id: contextvars.ContextVar[Any] = contextvars.ContextVar("ops_mcp_approval_id", default=None)


class Confirmations:
    def __init__(self, *, store: ApprovalStore, sealer: StateSealer, summarizer: Summarizer,
                 redaction: Redaction) -> None:
        self.store = store
        self.sealer = sealer
        self.summarizer = summarizer
        self.redaction = redaction

    # -- the executor's interface --------------------------------------------------------------

    def strip(self, arguments: dict[str, Any]) -> dict[str, Any]:
        _approval_id.set(arguments.get(APPROVAL_ARG))
        if APPROVAL_ARG not in arguments:
            return arguments
        return {k: v for k, v in arguments.items() if k != APPROVAL_ARG}

    async def confirm(
        self, call: CallContext, endpoint: Endpoint, arguments: dict[str, Any]
    ) -> Confirmed | t.CallToolResult | t.InputRequiredResult:
        approval_id = _approval_id.get()
        _approval_id.set(None)
        agent = call.agent or ""
        digest = args_hash(arguments)
        ctx = call.mcp_context
        if approval_id is not None:
            return self._redeem(approval_id, agent, endpoint, digest)
        if _is_modern(ctx) and (ctx.request_state is not None or ctx.input_responses):
            return self._verify_answer(ctx, call, endpoint, digest)
        summary = await self.summarizer.summarize(agent, endpoint, arguments)
        if _can_elicit(ctx):
            if _is_modern(ctx):
                return _ask(summary, self.sealer.seal(agent, endpoint.tool, digest))
            answer = await _elicit_now(ctx, summary)
            if answer is not None:
                return _verdict(answer, call, summary)
        return self._pending(agent, endpoint, arguments, summary)

    # -- pending approvals ---------------------------------------------------------------------

    def _pending(
        self, agent: str, endpoint: Endpoint, arguments: dict[str, Any], summary: str
    ) -> t.CallToolResult:
        shown = self.redaction.arguments(arguments)
        approval = self.store.create(agent, endpoint.tool, args_hash(arguments), summary, shown=shown)
        log.warning(
            "approval %s waits for a person: %s (ops-mcp approvals approve %s)",
            approval.id,
            summary,
            approval.id,
        )
        return pending_result(approval.id, summary, approval.expires_at)

    def _redeem(self, approval_id: Any, agent: str, endpoint: Endpoint, digest: str):
        if not isinstance(approval_id, str) or not approval_id:
            return error_result(f"{APPROVAL_ARG} must be the id of a pending approval (apr_…).")
        redemption = self.store.redeem(approval_id, agent, endpoint.tool, digest)
        if redemption.ok:
            assert redemption.approval is not None
            return Confirmed(by=f"approval {approval_id} by {redemption.approval.decided_by}")
        if redemption.reason == "pending":
            assert redemption.approval is not None
            return pending_result(approval_id, redemption.approval.summary, redemption.approval.expires_at)
        return error_result(_REFUSALS[redemption.reason](approval_id, redemption))

    # -- 2026-07-28 retries --------------------------------------------------------------------

    def _verify_answer(self, ctx: Any, call: CallContext, endpoint: Endpoint, digest: str):
        try:
            state = self.sealer.open(
                ctx.request_state, agent=call.agent or "", tool=endpoint.tool, args_hash=digest
            )
        except StateRejected as exc:
            log.warning("refused a confirmation state for %s/%s: %s", call.agent, endpoint.tool, exc)
            return error_result(f"Refused: {exc}. Nothing was changed; call the tool again to ask a person.")
        if not self.store.use_nonce(state.nonce, state.expires_at):
            log.warning("refused a replayed confirmation state for %s/%s", call.agent, endpoint.tool)
            return error_result(
                "Refused: this confirmation was already used. Nothing was changed; "
                "call the tool again to ask a person."
            )
        answer = (ctx.input_responses or {}).get(ELICIT_KEY)
        if not isinstance(answer, t.ElicitResult):
            return error_result("Refused: the retry carried no answer from a person. Nothing was changed.")
        return _verdict(answer, call, None)


def pending_result(approval_id: str, summary: str, expires_at: float) -> t.CallToolResult:
    until = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        f"Not done yet: a person must approve this first ({summary}). Approval {approval_id} is pending "
        f"until {until}. Tell the user, wait for them to approve it (ops-mcp approvals approve "
        f"{approval_id}), then call this tool again with the same arguments plus "
        f'"{APPROVAL_ARG}": "{approval_id}".'
    )
    data = {"status": "pending_approval", "approval_id": approval_id, "summary": summary, "expires_at": until}
    # is_error: the action has not happened; it also keeps clients from checking this against the
    # tool's output schema, which describes the write's result.
    return t.CallToolResult(
        content=[t.TextContent(type="text", text=text)], structured_content=data, is_error=True
    )


_REFUSALS = {
    "unknown": lambda i, r: (
        f"Refused: there is no approval {i}. Call the tool again without {APPROVAL_ARG} to ask a person."
    ),
    "mismatch": lambda i, r: (
        f"Refused: approval {i} was given for a different call. An approval covers exactly "
        "one agent, tool and set of arguments; call again without "
        f"{APPROVAL_ARG} to ask a person about this one."
    ),
    "used": lambda i, r: (
        f"Refused: approval {i} was already used. Each approval lets one call through; "
        f"call again without {APPROVAL_ARG} to ask a person again."
    ),
    "denied": lambda i, r: (
        f"Refused: {r.approval.decided_by} denied approval {i}. Nothing was changed; do not "
        "retry unless the user asks you to."
    ),
    "expired": lambda i, r: (
        f"Refused: approval {i} expired. Call again without {APPROVAL_ARG} to ask a person again."
    ),
}


def _ask(summary: str, sealed: str) -> t.InputRequiredResult:
    request = t.ElicitRequest(params=t.ElicitRequestFormParams(message=summary, requested_schema=_FORM))
    return t.InputRequiredResult(input_requests={ELICIT_KEY: request}, request_state=sealed)


async def _elicit_now(ctx: Any, summary: str) -> t.ElicitResult | None:
    """Ask on a handshake-era session; None when the transport cannot carry the question."""
    from mcp import MCPError

    try:
        return await ctx.session.elicit_form(summary, _FORM, related_request_id=ctx.request_id)
    except MCPError as exc:
        # NoBackChannelError (stateless HTTP, JSON responses) or a client that declared elicitation but
        # failed to ask: a person can still decide through a pending approval.
        log.info("could not ask over the session (%s); creating a pending approval", type(exc).__name__)
        return None


def _verdict(answer: t.ElicitResult, call: CallContext, summary: str | None):
    content = answer.content or {}
    if answer.action == "accept" and content.get("confirm", True) is not False:
        return Confirmed(by=f"elicitation:{_person(call)}")
    what = f" ({summary})" if summary else ""
    if answer.action == "cancel":
        return error_result(
            f"Not done: the person dismissed the confirmation without answering{what}. Nothing was changed."
        )
    return error_result(
        f"Not done: the person declined{what}. Nothing was changed; do not retry unless they ask you to."
    )


def _person(call: CallContext) -> str:
    """Who answered, as well as we can tell: the authenticated principal, else the client's user."""
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
    return f"user of {call.agent}" + (f" via {client}" if client else "")


def _is_modern(ctx: Any) -> bool:
    return ctx is not None and getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS


def _can_elicit(ctx: Any) -> bool:
    if ctx is None:
        return False
    try:
        caps = ctx.client_capabilities
    except Exception:  # no request context (e.g. a direct call in-process)
        return False
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None:
        return False
    # An empty capability object predates modes and means form mode.
    return elicitation.form is not None or elicitation.url is None


__all__ = ["APPROVAL_ARG", "APPROVAL_SCHEMA", "Confirmations", "Redemption", "pending_result"]
