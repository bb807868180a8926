"""A person's yes before a confirm-listed write — a person's, not the agent's.

Each agent's ``confirm_via`` says who may say yes:

- ``"person"`` (the default): only a person deciding out of band, signed in as themselves — ``ops-mcp
  approvals approve`` or the console's approval page. The write becomes a pending approval; a client
  that can open links (URL-mode elicitation) is sent to ``{console}/admin/approvals/{id}``; the agent
  retries with ``approval_id`` (or, on 2026-07-28, with the sealed state naming the approval). Whatever
  the client answers — accept, a forged ``inputResponses`` — is never taken as the decision: a hosted
  agent holds its own token and client, so it could always answer itself.
- ``"client"``: the MCP client asks its user (form-mode elicitation), for human-facing clients such as
  a desktop app over stdio that an operator opted in. A client that cannot ask falls back to a
  pending approval.

Before anyone is asked, the write's target and the objects it names are read where the agent's policy
allows (``summaries.py``): a missing object is refused at once, and the person sees every field the
write sets, before → after. The executor calls ``strip`` (removes ``approval_id`` before validation)
and then ``confirm``; this module never sends the write itself, so a refusal here means no request.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

import mcp_types as t

from ..calls.context import CallContext, Confirmed
from ..catalogue.models import Endpoint
from ..policy import Policies
from ..text import neutralise
from .approvals import ApprovalStore, Redemption, TooManyPending, call_hash
from .asking import (
    ELICIT_KEY,
    ask_form_now,
    can_ask_form,
    can_open_url,
    client_user,
    form_question,
    is_modern,
    open_url_now,
    url_question,
)
from .changes import ChangeSummary
from .outcomes import (
    APPROVAL_ARG,
    NOTHING_CHANGED,
    cancelled,
    declined,
    denied_approval,
    not_found,
    pending_result,
    redeem_refused,
    refused,
)
from .sealing import StateRejected, StateSealer
from .summaries import Summarizer

log = logging.getLogger("ops_mcp.confirmation")

APPROVAL_SCHEMA = {
    "type": "string",
    "description": "Only when re-calling after a person approved a pending approval: its id",
}
APPROVAL_PAGE = "/admin/approvals/{id}"
PROMPT_VALUE_LIMIT = 1000  # per value in an in-client prompt; longer values say how much is left out
# ``strip`` runs right before ``confirm`` in the same task; the id travels between them here because
# the executor hands ``confirm`` the arguments without it (they are what gets validated and sent).
_approval_id: contextvars.ContextVar[Any] = contextvars.ContextVar("ops_mcp_approval_id", default=None)

Verdict = Confirmed | t.CallToolResult | t.InputRequiredResult


class Confirmations:
    def __init__(self, *, store: ApprovalStore, sealer: StateSealer, summarizer: Summarizer,
                 policies: Policies | None = None, console_url: str | None = None) -> None:
        self.store = store
        self.sealer = sealer
        self.summarizer = summarizer
        self.policies = policies if policies is not None else summarizer.policies
        # Where the approval pages are served ({public_url}); None: no link, the CLI only.
        self.console_url = console_url.rstrip("/") if console_url else None

    def approval_url(self, approval_id: str) -> str | None:
        return self.console_url + APPROVAL_PAGE.format(id=approval_id) if self.console_url else None

    # -- the executor's interface --------------------------------------------------------------

    def strip(self, arguments: dict[str, Any]) -> dict[str, Any]:
        _approval_id.set(arguments.get(APPROVAL_ARG))
        if APPROVAL_ARG not in arguments:
            return arguments
        return {k: v for k, v in arguments.items() if k != APPROVAL_ARG}

    async def confirm(self, call: CallContext, endpoint: Endpoint, arguments: dict[str, Any]) -> Verdict:
        approval_id = _approval_id.get()
        _approval_id.set(None)
        agent = call.agent or ""
        digest = call_hash(arguments, self._tenant(agent, endpoint))
        ctx = call.mcp_context
        if approval_id is not None:
            return self._redeem(approval_id, agent, endpoint, digest)
        if is_modern(ctx) and (ctx.request_state is not None or ctx.input_responses):
            return self._retry(ctx, call, endpoint, digest)
        change = await self.summarizer.describe(agent, endpoint, arguments)
        if change.missing:
            log.info("refused %s for %s before asking: %s", endpoint.tool, agent, "; ".join(change.missing))
            return not_found(change.missing, endpoint.title)
        if self._via(agent) == "client":
            return await self._ask_client(ctx, call, endpoint, digest, change)
        return await self._ask_person(ctx, agent, endpoint, digest, change)

    def _tenant(self, agent: str, endpoint: Endpoint) -> str | None:
        policy = self.policies.get(agent)
        return policy.bindings.get(endpoint.area.split(".", 1)[0]) if policy is not None else None

    def _via(self, agent: str) -> str:
        policy = self.policies.get(agent)
        return policy.confirm_via if policy is not None else "person"

    # -- confirm_via = "person" ----------------------------------------------------------------

    async def _ask_person(self, ctx: Any, agent: str, endpoint: Endpoint, digest: str,
                          change: ChangeSummary) -> Verdict:
        try:
            approval = self.store.create(agent, endpoint.tool, digest, change)
        except TooManyPending as exc:
            return refused("too_many_pending", f"Not done: {exc}. {NOTHING_CHANGED}.")
        url = self.approval_url(approval.id)
        log.warning("approval %s waits for a person: %s %s (ops-mcp approvals show %s)",
                    approval.id, neutralise(agent, 80), endpoint.tool, approval.id)
        if url is not None and can_open_url(ctx):
            message = f"A person must approve this on the approval page: {neutralise(change.sentence)}"
            if is_modern(ctx):
                sealed = self.sealer.seal(agent, endpoint.tool, digest, approval=approval.id)
                return url_question(message, url, sealed)
            await open_url_now(ctx, message, url, approval.id)
            # Whatever the client answered, only a decision recorded on the approval counts.
            decided = self.store.get(approval.id)
            if decided is not None and decided.status in ("approved", "denied"):
                return self._redeem(approval.id, agent, endpoint, digest)
        return pending_result(approval.id, approval.summary, approval.expires_at, url)

    def _redeem(self, approval_id: Any, agent: str, endpoint: Endpoint, digest: str) -> Verdict:
        if not isinstance(approval_id, str) or not approval_id:
            return refused("bad_approval_id", f"{APPROVAL_ARG} must be the id of a pending approval (apr_…).")
        redemption: Redemption = self.store.redeem(approval_id, agent, endpoint.tool, digest)
        approval = redemption.approval
        if redemption.ok and approval is not None:
            return Confirmed(by=f"approval {approval_id} by {approval.decided_by}")
        if redemption.reason == "pending" and approval is not None:
            return pending_result(approval_id, approval.summary, approval.expires_at, self.approval_url(approval_id))
        if redemption.reason == "denied" and approval is not None:
            return denied_approval(approval_id, approval.decided_by)
        return redeem_refused(redemption.reason, approval_id)

    # -- 2026-07-28 retries --------------------------------------------------------------------

    def _retry(self, ctx: Any, call: CallContext, endpoint: Endpoint, digest: str) -> Verdict:
        agent = call.agent or ""
        if ctx.request_state is None:
            return refused("no_state", f"Refused: the answer came without the confirmation it answers. "
                                     f"{NOTHING_CHANGED}; call the tool again to ask a person.")
        try:
            state = self.sealer.open(ctx.request_state, agent=agent, tool=endpoint.tool, args_hash=digest)
        except StateRejected as exc:
            log.warning("refused a confirmation state for %s/%s: %s", agent, endpoint.tool, exc)
            return refused("invalid_state", f"Refused: {exc}. {NOTHING_CHANGED}; call the tool again to ask a person.")
        if not self.store.use_nonce(state.nonce, state.expires_at):
            log.warning("refused a replayed confirmation state for %s/%s", agent, endpoint.tool)
            return refused("replayed", f"Refused: this confirmation was already used. {NOTHING_CHANGED}; "
                                       "call the tool again to ask a person.")
        if state.approval is not None:
            # The person decides on the approval page; what the client sent along does not count.
            return self._redeem(state.approval, agent, endpoint, digest)
        if self._via(agent) == "person":
            log.warning("refused a client's answer for %s/%s: a person approves out of band", agent, endpoint.tool)
            return refused(
                "client_answer",
                f"Refused: writes of {neutralise(agent, 80)} are approved by a person outside this "
                f"conversation, so an answer from the client does not count. {NOTHING_CHANGED}; call the "
                "tool again without a confirmation to get an approval id for a person to decide.",
            )
        answer = (ctx.input_responses or {}).get(ELICIT_KEY)
        if not isinstance(answer, t.ElicitResult):
            return refused("no_answer", f"Refused: the retry carried no answer from a person. {NOTHING_CHANGED}.")
        return _client_verdict(answer, call, None)

    # -- confirm_via = "client" ----------------------------------------------------------------

    async def _ask_client(self, ctx: Any, call: CallContext, endpoint: Endpoint, digest: str,
                          change: ChangeSummary) -> Verdict:
        agent = call.agent or ""
        if can_ask_form(ctx):
            prompt = change.text(PROMPT_VALUE_LIMIT, " not shown")
            if is_modern(ctx):
                return form_question(prompt, self.sealer.seal(agent, endpoint.tool, digest))
            answer = await ask_form_now(ctx, prompt)
            if answer is not None:
                return _client_verdict(answer, call, change.sentence)
        # The client cannot ask (or could not carry the question): a person can still decide out of band.
        return await self._ask_person(ctx, agent, endpoint, digest, change)


def _client_verdict(answer: t.ElicitResult, call: CallContext, summary: str | None) -> Verdict:
    who = f"elicitation:{client_user(call)}"
    content = answer.content or {}
    if answer.action == "accept" and content.get("confirm", True) is not False:
        return Confirmed(by=who)
    if answer.action == "cancel":
        return cancelled(summary)
    return declined(summary, who)


__all__ = ["APPROVAL_ARG", "APPROVAL_SCHEMA", "Confirmations", "Redemption", "pending_result"]
