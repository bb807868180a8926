"""One plain-English sentence per audit record.

    people-ops approved time off to_123 for employment em_9 in Remote (Acme GmbH): allowed, 200, 84 ms
    dispatch-bot tried to issue invoice inv_42 in RemoteOps (Northwind): denied by policy

Shape: ``<agent> <what> [in <Backend> (<tenant>)]: <outcome>``. ``<what>`` comes from the tool's
title ("Approve time off"): its leading verb in the past tense when the call went through, or
"tried to <verb>" when it did not. The rendering is a pure function of the record so that the
stored sentence can be re-derived and tested.
"""

from __future__ import annotations

import math
import re

from ..text import neutralise
from .records import AuditRecord

# Leading verb of a tool title → (infinitive used after "tried to", past tense). Two-word verbs
# are matched before one-word ones. "get"/"show" read better as "view" in a log.
VERBS: dict[str, tuple[str, str]] = {
    "send back": ("send back", "sent back"),
    "check out": ("check out", "checked out"),
    "check in": ("check in", "checked in"),
    "look up": ("look up", "looked up"),
    "sign off": ("sign off", "signed off"),
    "list": ("list", "listed"),
    "get": ("view", "viewed"),
    "show": ("view", "viewed"),
    "view": ("view", "viewed"),
    "read": ("read", "read"),
    "fetch": ("fetch", "fetched"),
    "download": ("download", "downloaded"),
    "search": ("search", "searched"),
    "find": ("find", "found"),
    "describe": ("describe", "described"),
    "count": ("count", "counted"),
    "preview": ("preview", "previewed"),
    "estimate": ("estimate", "estimated"),
    "validate": ("validate", "validated"),
    "export": ("export", "exported"),
    "create": ("create", "created"),
    "add": ("add", "added"),
    "update": ("update", "updated"),
    "edit": ("edit", "edited"),
    "change": ("change", "changed"),
    "replace": ("replace", "replaced"),
    "set": ("set", "set"),
    "approve": ("approve", "approved"),
    "accept": ("accept", "accepted"),
    "decline": ("decline", "declined"),
    "reject": ("reject", "rejected"),
    "cancel": ("cancel", "cancelled"),
    "submit": ("submit", "submitted"),
    "send": ("send", "sent"),
    "resend": ("resend", "resent"),
    "invite": ("invite", "invited"),
    "issue": ("issue", "issued"),
    "record": ("record", "recorded"),
    "void": ("void", "voided"),
    "assign": ("assign", "assigned"),
    "unassign": ("unassign", "unassigned"),
    "transition": ("move", "moved"),
    "move": ("move", "moved"),
    "return": ("return", "returned"),
    "generate": ("generate", "generated"),
    "redeliver": ("redeliver", "redelivered"),
    "replay": ("replay", "replayed"),
    "delete": ("delete", "deleted"),
    "remove": ("remove", "removed"),
    "archive": ("archive", "archived"),
    "upload": ("upload", "uploaded"),
    "attach": ("attach", "attached"),
    "schedule": ("schedule", "scheduled"),
    "reschedule": ("reschedule", "rescheduled"),
    "dispatch": ("dispatch", "dispatched"),
    "complete": ("complete", "completed"),
    "close": ("close", "closed"),
    "reopen": ("reopen", "reopened"),
    "terminate": ("terminate", "terminated"),
    "convert": ("convert", "converted"),
    "amend": ("amend", "amended"),
    "renew": ("renew", "renewed"),
    "request": ("request", "requested"),
    "sign": ("sign", "signed"),
    "pay": ("pay", "paid"),
    "refund": ("refund", "refunded"),
    "apply": ("apply", "applied"),
    "transfer": ("transfer", "transferred"),
    "consume": ("consume", "consumed"),
    "restock": ("restock", "restocked"),
    "enable": ("enable", "enabled"),
    "disable": ("disable", "disabled"),
    "rotate": ("rotate", "rotated"),
    "revoke": ("revoke", "revoked"),
    "resolve": ("resolve", "resolved"),
    "acknowledge": ("acknowledge", "acknowledged"),
    "confirm": ("confirm", "confirmed"),
    "mark": ("mark", "marked"),
    "start": ("start", "started"),
    "stop": ("stop", "stopped"),
    "pause": ("pause", "paused"),
    "resume": ("resume", "resumed"),
    "import": ("import", "imported"),
    "link": ("link", "linked"),
    "unlink": ("unlink", "unlinked"),
}

MAX_ERROR = 160
MAX_IDS = 4  # ids named in one sentence; the structured record keeps the rest
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"[\t\n\r\f\v ]+")

# What a confirmation came to (governance/outcomes.py statuses and refusal reasons), in words.
OUTCOMES: dict[str, str] = {
    "asked": "asked for confirmation, no answer yet",
    "pending_approval": "waiting for a person's approval",
    "declined": "declined by {who}",
    "cancelled": "dismissed by {who} without an answer",
    "not_found": "refused before asking anyone (an object it names does not exist)",
    "refused:replayed": "refused (replayed confirmation)",
    "refused:invalid_state": "refused (forged, altered, expired or mismatched confirmation)",
    "refused:no_state": "refused (an answer without the confirmation it answers)",
    "refused:client_answer": "refused (the client answered; a person must decide)",
    "refused:no_answer": "refused (a retry without an answer)",
    "refused:mismatch": "refused (an approval given for a different call)",
    "refused:used": "refused (an approval already used)",
    "refused:expired": "refused (an expired approval)",
    "refused:unknown": "refused (no such approval)",
    "refused:bad_approval_id": "refused (a malformed approval id)",
    "refused:too_many_pending": "refused (too many approvals pending)",
    "rejected_by_sdk": "rejected as malformed before any tool ran",
}


def _clean(text: object, limit: int | None = None) -> str:
    # One record = one line in `audit tail`; a newline, NEL, line separator, C1 control or bidi
    # override smuggled in an id or error must not be able to forge or reorder a line.
    s = neutralise(_SPACES.sub(" ", str(text)).strip())
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def _split_title(title: str) -> tuple[tuple[str, str] | None, str]:
    """("Approve time off") → (("approve", "approved"), "time off"); unknown verb → (None, title)."""
    words = title.split()
    lowered = [w.lower() for w in words]
    for size in (2, 1):
        head = " ".join(lowered[:size])
        if len(lowered) >= size and head in VERBS:
            return VERBS[head], " ".join(words[size:])
    return None, title


def _noun(key: str) -> str:
    """ "employment_id" → "employment"; "timeoffId" → "timeoff"; "id" → ""."""
    k = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
    k = re.sub(r"(^|[_\W])ids?$", "", k)
    return k.strip("_ -").replace("_", " ").replace("-", " ")


def _squash(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def _main_target(object_phrase: str, target_ids: dict[str, str]) -> str | None:
    """Which id names the object the title talks about ("time off" ↔ "timeoff_id")."""
    obj = _squash(object_phrase)
    best: tuple[int, str] | None = None
    for key in target_ids:
        noun = _squash(_noun(key))
        if not noun:
            score = 1  # a bare "id" is the tool's own object, unless a named key fits better
        elif obj == noun or obj.rstrip("s") == noun.rstrip("s"):
            score = 3
        elif obj.endswith(noun):
            score = 2  # "Record invoice payment" ↔ "payment_id"
        else:
            continue
        if best is None or score > best[0]:
            best = (score, key)
    return best[1] if best else None


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _action(record: AuditRecord) -> str:
    """ "approved time off to_123 for employment em_9" (or "tried to approve …")."""
    title = _clean(record.tool_title or "")
    went_through = record.decision == "allowed"
    # A call parked for a human's yes has not failed yet; "asked to" says so.
    attempt = "asked to" if record.decision == "pending_approval" else "tried to"
    verb, obj = _split_title(title) if title else (None, "")
    targets = {_clean(k, 40): _clean(v, 80) for k, v in list((record.target_ids or {}).items())[:MAX_IDS]}
    if verb is None:
        name = title or _clean(record.tool)
        head = f"called {name}" if went_through else f"{attempt} call {name}"
        main = None
    else:
        obj = " ".join(
            w if w.isupper() and len(w) > 1 else w.lower() for w in obj.split()
        )  # "Time Off" → "time off"
        head = f"{verb[1] if went_through else attempt + ' ' + verb[0]} {obj}".rstrip()
        main = _main_target(obj, targets)
    parts = [head]
    if main is not None:
        parts.append(targets[main])
    others = [f"{_noun(k) or 'id'} {v}".strip() for k, v in targets.items() if k != main]
    if others:
        parts.append("for " + _join(others))
    return " ".join(p for p in parts if p)


def _where(record: AuditRecord) -> str:
    backend = record.backend_title or record.backend
    tenant = record.tenant_label or record.tenant
    if backend and tenant:
        return f" in {_clean(backend)} ({_clean(tenant)})"
    if backend or tenant:
        return f" in {_clean(backend or tenant)}"
    return ""


def _ms(record: AuditRecord) -> str | None:
    d = record.duration_ms
    if not isinstance(d, int | float) or not math.isfinite(d):
        return None
    return f"{round(d)} ms"


def _outcome(record: AuditRecord) -> str:
    parts: list[str | None]
    error = _clean(record.error, MAX_ERROR) if record.error else None
    status = None if record.http_status is None else str(record.http_status)
    d = record.decision
    if d != "allowed" and isinstance(record.outcome, str) and record.outcome in OUTCOMES:
        return _confirmation(record)
    if d == "allowed":
        parts = ["allowed"]
        if record.confirmed_by:
            parts.append(f"confirmed by {_clean(record.confirmed_by, 80)}")
        parts += [status, _ms(record)]
    elif d == "denied":
        parts = ["denied by policy" + (f" ({error})" if error else "")]
    elif d == "invalid":
        parts = ["invalid arguments" + (f" ({error})" if error else "")]
    elif d == "failed":
        upstream = f"upstream {status}" if status else None
        if upstream and record.attempts and record.attempts > 1:
            upstream += f" after {record.attempts} tries"
        elif not upstream and record.attempts and record.attempts > 1:
            upstream = f"after {record.attempts} tries"
        # The error adds the why ("timed out"); skip it when it only repeats the status line.
        detail = error if error and (not upstream or error.lower() not in upstream.lower()) else None
        parts = ["failed", upstream, detail, _ms(record)]
    elif d == "rate_limited":
        parts = ["rate limited" + (f" ({error})" if error else ""), _ms(record)]
    elif d == "pending_approval":
        parts = ["waiting for a human's confirmation"]
    elif d == "declined":  # by the human asked to confirm
        who = _clean(record.confirmed_by, 80) if record.confirmed_by else "a human"
        parts = [f"declined by {who}" + (f" ({error})" if error else "")]
    elif d == "started":
        parts = ["sent to the back end, outcome pending (recorded ahead of the request)"]
    elif d == "unknown":
        parts = ["outcome unknown (the request was sent; no completion was recorded)"]
    elif d == "cancelled":  # the error says whether the request had left (then its outcome is unknown)
        parts = ["cancelled by the client" + (f" ({error})" if error else ""), status, _ms(record)]
    else:  # set after construction, bypassing the check in AuditRecord: say it as it is
        parts = [_clean(d, 40), error]
    return ", ".join(p for p in parts if p)


def _confirmation(record: AuditRecord) -> str:
    assert isinstance(record.outcome, str)
    who = _clean(record.confirmed_by, 80) if record.confirmed_by else "the person asked"
    text = OUTCOMES[record.outcome].format(who=who)
    if record.approval_id:
        text += f" (approval {_clean(record.approval_id, 64)})"
    if record.outcome in ("not_found", "rejected_by_sdk") and record.error:
        text += f": {_clean(record.error, MAX_ERROR)}"
    return text


def render(record: AuditRecord) -> str:
    """The record as one sentence, without a trailing period (it reads better in a log)."""
    agent = _clean(record.agent, 80) or "an unnamed agent"
    try:
        return f"{agent} {_action(record)}{_where(record)}: {_outcome(record)}"
    except Exception:
        # A malformed record (wrong types from a buggy caller) must still be logged; the
        # structured fields carry the detail.
        return f"{agent} called {_clean(record.tool, 80)}: {_clean(record.decision, 40)}"
