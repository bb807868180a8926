"""What the live view reads: events per feed, each rate budget's use, upstream health, recent denials.

Everything comes from what the runtime already keeps: the event store, the upstream client's budgets
and counters (nothing when no call has been made yet: the client is built on the first call), and the
audit log.
"""

from __future__ import annotations

import time
from typing import Any

from ..upstream.events import REQUEST

RECENT_DENIALS = 20


def budgets(upstream: Any, now: float | None = None) -> list[dict[str, Any]]:
    found = upstream.rate_budgets()
    now = time.time() if now is None else now
    out = []
    for key, budget in sorted(found.items()):
        used = _used(budget, now)
        out.append(
            {
                "key": key,
                "limit": budget.limit,
                "window": budget.window,
                "used": used,
                "remaining": max(0, budget.limit - used),
                "blocked": budget.blocked_until > now,
                "in_flight": budget.in_flight,
            }
        )
    return out


def _used(budget: Any, now: float) -> int:
    if budget.window == "fixed":
        return int(budget.used) if budget.window_end is not None and now < budget.window_end else 0
    if budget.window == "sliding":
        return sum(1 for sent in budget.sent if sent > now - budget.window_s)
    return max(0, int(budget.burst - budget.tokens))


def health(upstream: Any, backends: list[str]) -> list[dict[str, Any]]:
    """Per back end: answers by class, and a word for it (no traffic yet / healthy / failing)."""
    stats = getattr(upstream, "stats", None)
    out = []
    for backend in backends:
        counts = {"2xx": 0, "4xx": 0, "429": 0, "5xx": 0, "no answer": 0}
        if stats is not None:
            for (kind, name, status), n in stats.counts.items():
                if kind != REQUEST or name != backend:
                    continue
                counts[_class(status)] += n
        total = sum(counts.values())
        bad = counts["5xx"] + counts["no answer"]
        word = (
            "no calls yet"
            if total == 0
            else ("failing" if bad * 2 > total else ("degraded" if bad else "healthy"))
        )
        out.append({"backend": backend, "state": word, **counts, "total": total})
    return out


def _class(status: Any) -> str:
    if not isinstance(status, int):
        return "no answer"
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    return "4xx" if status >= 400 else "2xx"


def denials(audit: Any) -> list[Any]:
    entries = audit.search(decision="denied", limit=RECENT_DENIALS)
    entries.reverse()
    return list(entries)
