"""Other spellings of a tool name (item 3): case, Unicode look-alikes, whitespace, invisible characters,
encodings. A name is matched exactly, so every spelling that is not the exact name must be unknown."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from hypothesis import strategies as st

CYRILLIC = str.maketrans(
    {
        "a": "\u0430",
        "e": "\u0435",
        "o": "\u043e",
        "p": "\u0440",
        "c": "\u0441",
        "x": "\u0445",
        "i": "\u0456",
        "s": "\u0455",
        "y": "\u0443",
    }
)
# Characters whose case mapping lands on ASCII: the classic case-folding bypasses.
FOLDING = str.maketrans({"s": "\u017f", "i": "\u0131", "k": "\u212a"})
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u034f"]
WHITESPACE = [" ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u2028", "\x0b"]
UNDERSCORES = ["\uff3f", "\u2017", "-", " ", "%5F", "__", "\u02cd"]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def math_sans(text: str) -> str:
    return "".join(chr(0x1D5BA + ord(c) - ord("a")) if "a" <= c <= "z" else c for c in text)


def _first(table: dict[int, str]) -> Callable[[str], str]:
    def swap(text: str) -> str:
        for i, ch in enumerate(text):
            if ord(ch) in table:
                return text[:i] + table[ord(ch)] + text[i + 1 :]
        return text

    return swap


FIXED: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "title": str.title,
    "capitalize": str.capitalize,
    "cyrillic_all": lambda n: n.translate(CYRILLIC),
    "cyrillic_one": _first(CYRILLIC),
    "case_folding": lambda n: n.translate(FOLDING),
    "fullwidth": fullwidth,
    "fullwidth_one": lambda n: fullwidth(n[0]) + n[1:],
    "math_sans": math_sans,
    "leading_space": lambda n: " " + n,
    "trailing_space": lambda n: n + " ",
    "trailing_newline": lambda n: n + "\n",
    "nbsp": lambda n: "\u00a0" + n,
    "zero_width_inside": lambda n: n[:3] + "\u200b" + n[3:],
    "zero_width_end": lambda n: n + "\ufeff",
    "combining_accent": lambda n: n[:1] + "\u0301" + n[1:],
    "nfd_decomposed": lambda n: unicodedata.normalize("NFD", n.replace("e", "\u00e9", 1)),
    "underscore_fullwidth": lambda n: n.replace("_", "\uff3f"),
    "underscore_hyphen": lambda n: n.replace("_", "-"),
    "percent_encoded": lambda n: n.replace("_", "%5F"),
    "nul_suffix": lambda n: n + "\x00",
    "path_prefix": lambda n: "../" + n,
    "slash_suffix": lambda n: n + "/",
    "dot_separated": lambda n: n.replace("_", ".", 1),
}


@st.composite
def spelling(draw, name: str) -> str:
    """One to three transformations of ``name``, some with random positions and characters."""
    steps = draw(
        st.lists(
            st.sampled_from(sorted(FIXED) + ["random_case", "insert", "wrap", "underscore"]),
            min_size=1,
            max_size=3,
        )
    )
    out = name
    for step in steps:
        if step == "random_case":
            flips = draw(st.lists(st.booleans(), min_size=len(out), max_size=len(out)))
            out = "".join(c.swapcase() if f else c for c, f in zip(out, flips, strict=True))
        elif step == "insert":
            at = draw(st.integers(0, len(out)))
            out = out[:at] + draw(st.sampled_from(INVISIBLE + WHITESPACE)) + out[at:]
        elif step == "wrap":
            out = (
                draw(st.sampled_from(WHITESPACE + INVISIBLE)) + out + draw(st.sampled_from(WHITESPACE + [""]))
            )
        elif step == "underscore":
            out = out.replace("_", draw(st.sampled_from(UNDERSCORES)))
        else:
            out = FIXED[step](out)
    return out


def skeleton(text: str) -> str:
    """A crude confusable skeleton: what a careless normaliser would reduce a spelling to."""
    text = unicodedata.normalize("NFKC", text).casefold()
    back = {v: chr(k) for k, v in CYRILLIC.items()}
    text = "".join(back.get(c, c) for c in text)
    return "".join(c for c in text if c.isascii() and (c.isalnum() or c == "_"))
