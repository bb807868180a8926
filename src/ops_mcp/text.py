"""Agent-supplied text made safe to show a person: one line, no invisible or reordering characters.

Anything an agent sends (arguments, tool names, error texts echoing them) may end up in a terminal, a log
line, a confirmation prompt or a web page. Characters that could forge a second line or reorder what a
person reads — C0 and C1 controls, NEL (U+0085), line and paragraph separators (U+2028/9), bidirectional
overrides and isolates, zero-width joiners and marks — are shown as visible ``\\uXXXX`` escapes instead, so
the person sees that something odd was sent rather than being fooled by it.
"""

from __future__ import annotations

import re

_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def neutralise(text: object, limit: int | None = None) -> str:
    """``text`` as one visible line: hidden and control characters escaped, cut to ``limit`` with "…"."""
    shown = _HIDDEN.sub(_escape, text if isinstance(text, str) else str(text))
    if limit is not None and len(shown) > limit:
        shown = shown[: max(0, limit - 1)] + "…"
    return shown
