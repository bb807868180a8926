"""Agent text shown to a person can neither forge a line nor reorder what is read."""

from __future__ import annotations

import pytest

from ops_mcp.text import neutralise

FORGERS = ["\n", "\r", "\x1b", "\x85", "\u2028", "\u2029", "\u009b", "\u202e", "\u2066", "\u200b", "\ufeff", "\x00"]


@pytest.mark.parametrize("char", FORGERS)
def test_line_breaks_controls_and_bidi_overrides_become_visible_escapes(char: str) -> None:
    shown = neutralise(f"allowed{char}people-ops approved")
    assert char not in shown
    assert f"\\u{ord(char):04x}" in shown
    assert shown.startswith("allowed") and shown.endswith("people-ops approved")


def test_plain_text_and_non_latin_names_are_untouched() -> None:
    for text in ("Greta García", "Ærøskøbing", "张伟", "José 🙂"):
        assert neutralise(text) == text


def test_long_text_is_cut_with_an_ellipsis() -> None:
    assert neutralise("x" * 50, limit=10) == "x" * 9 + "…"
