"""Agent-supplied text made safe to show a person: one line, no invisible or reordering characters.

Anything an agent sends (arguments, tool names, error texts echoing them) may end up in a terminal, a log
line, a confirmation prompt or a web page. Characters that could forge a second line or reorder what a
person reads — C0 and C1 controls, NEL (U+0085), line and paragraph separators (U+2028/9), bidirectional
overrides and isolates, zero-width joiners and marks, invisible fillers and Unicode tag characters (which
can smuggle hidden text) — are shown as visible ``\\uXXXX`` escapes instead, so the person sees that
something odd was sent rather than being fooled by it.
"""

from __future__ import annotations

import re

# C0 and C1 controls (NEL U+0085, CSI U+009B), DEL, soft hyphen, Arabic letter mark, combining grapheme
# joiner, Hangul fillers, Khmer inherent vowels, Mongolian vowel separator, zero-width and directional marks,
# line and paragraph separators, bidi embeddings/overrides/isolates, invisible operators, BOM, interlinear
# annotations, half-width Hangul filler, and the tag block (U+E0000–U+E007F).
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def neutralise(text: object, limit: int | None = None) -> str:
    """``text`` as one visible line: hidden and control characters escaped, cut to ``limit`` with "…"."""
    shown = _HIDDEN.sub(_escape, text if isinstance(text, str) else str(text))
    if limit is not None and len(shown) > limit:
        shown = shown[: max(0, limit - 1)] + "…"
    return shown
