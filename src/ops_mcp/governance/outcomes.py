"""What the confirmer answers the agent when a write does not go through (yet).

Each answer is an ``isError`` tool result — the write has not happened — with a sentence saying what to
do next and a ``structuredContent`` whose ``status`` names the outcome, so the executor can record what
happened rather than guess:

- ``pending_approval``: a person has been (or can be) asked; ``approval_id`` says which approval;
- ``declined``: the person said no (``decided_by`` names them) — or, for a ``client`` agent, its user;
- ``cancelled``: the person dismissed an in-client question without answering;
- ``refused``: ops-mcp refused what the agent sent (``reason``: replayed, invalid_state (altered,
  expired, another agent's or other arguments), no_state, client_answer (an answer from the client
  for a ``person`` agent), no_answer, mismatch, used, expired, unknown, bad_approval_id,
  too_many_pending);
- ``not_found``: a read says the object the write acts on, or one it names, does not exist; nobody
  was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import mcp_types as t

from ..text import neutralise

APPROVAL_ARG = "approval_id"
NOTHING_CHANGED = "Nothing was changed"


def _result(text: str, **data: Any) -> t.CallToolResult:
    # is_error: the action has not happened; it also keeps clients from checking this against the
    # tool's output schema, which describes the write's result.
    structured = {k: v for k, v in data.items() if v is not None}
    return t.CallToolResult(content=[t.TextContent(type="text", text=text)], structured_content=structured,
                            is_error=True)


def pending_result(approval_id: str, summary: str, expires_at: float, url: str | None = None) -> t.CallToolResult:
    until = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    where = f"on the approval page {url} or with" if url else "with"
    text = (
        f"Not done yet: a person must approve this first ({neutralise(summary)}). Approval {approval_id} is "
        f"pending until {until}. Tell the user; a person decides {where} `ops-mcp approvals approve "
        f"{approval_id}`. Once approved, call this tool again with the same arguments plus "
        f'"{APPROVAL_ARG}": "{approval_id}".'
    )
    return _result(text, status="pending_approval", approval_id=approval_id, summary=neutralise(summary),
                   expires_at=until, approval_url=url)


def declined(summary: str | None, decided_by: str | None) -> t.CallToolResult:
    """The person asked in the client said no (``decided_by`` records who, for the audit)."""
    what = f" ({neutralise(summary)})" if summary else ""
    return _result(f"Not done: the person declined{what}. {NOTHING_CHANGED}; do not retry unless they ask you to.",
                   status="declined", decided_by=decided_by)


def denied_approval(approval_id: str, decided_by: str | None) -> t.CallToolResult:
    who = neutralise(decided_by) if decided_by else "a person"
    return _result(
        f"Refused: {who} denied approval {approval_id}. {NOTHING_CHANGED}; do not retry unless the user asks "
        "you to.",
        status="declined", approval_id=approval_id, decided_by=decided_by,
    )


def cancelled(summary: str | None) -> t.CallToolResult:
    what = f" ({neutralise(summary)})" if summary else ""
    return _result(f"Not done: the person dismissed the confirmation without answering{what}. {NOTHING_CHANGED}.",
                   status="cancelled")


def refused(reason: str, text: str, approval_id: str | None = None) -> t.CallToolResult:
    return _result(text, status="refused", reason=reason, approval_id=approval_id)


def not_found(missing: tuple[str, ...] | list[str], tool_title: str) -> t.CallToolResult:
    listed = "; ".join(neutralise(m) for m in missing)
    text = (
        f"Not done: {listed}. {NOTHING_CHANGED} and nobody was asked to approve it. Check the id (list or "
        f"search first, never guess ids), then call {neutralise(tool_title)} again."
    )
    return _result(text, status="not_found", missing=[neutralise(m) for m in missing])


_REDEEM_REFUSALS = {
    "unknown": lambda i: (
        f"Refused: there is no approval {i}. Call the tool again without {APPROVAL_ARG} to ask a person."
    ),
    "mismatch": lambda i: (
        f"Refused: approval {i} was given for a different call. An approval covers exactly one agent, tool, "
        f"tenant and set of arguments; call again without {APPROVAL_ARG} to ask a person about this one."
    ),
    "used": lambda i: (
        f"Refused: approval {i} was already used. Each approval lets one call through; call again without "
        f"{APPROVAL_ARG} to ask a person again."
    ),
    "expired": lambda i: f"Refused: approval {i} expired. Call again without {APPROVAL_ARG} to ask a person again.",
}


def redeem_refused(reason: str, approval_id: str) -> t.CallToolResult:
    """An approval id that lets nothing through (unknown, someone else's call, used, expired)."""
    return refused(reason, _REDEEM_REFUSALS[reason](neutralise(approval_id, 64)), approval_id=None)
