"""The malformed-argument categories of item 1, one Hypothesis strategy each, for one tool at a time.

``CATEGORIES[name](endpoint)`` returns a strategy of :class:`Case`, or None when the category does not
apply to the tool (no required field to drop, no path parameter...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from ops_mcp.catalogue.tools import validation_schema

from .rel1_schemas import (
    HOSTILE_NAMES,
    PATH_FRAGMENTS,
    UNICODE_FRAGMENTS,
    Case,
    baseline,
    bounded_string,
    dotted,
    finish,
    nested,
    oracle,
    place,
    slots,
    types_of,
    valid,
    wrong_value,
)

UPLOAD_FIELD = "content_base64"
UPLOAD_LIMIT = 10 * 1024 * 1024


class Tool:
    """One endpoint with its validation schema, oracle and slots, computed once."""

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        self.name = endpoint.tool
        self.schema = validation_schema(endpoint)
        self.check = oracle(self.schema)
        self.slots = slots(self.schema)
        self.path_params = list(endpoint.parameters.path.get("properties", {}))
        self.top_required = list(self.schema.get("required", []))


def _printable(text: str) -> bool:
    return text.isprintable() and text.isascii() and 0 < len(text) <= 60 and "," not in text


def wrong_type(tool: Tool) -> st.SearchStrategy[Case] | None:
    typed = [s for s in tool.slots if types_of(s.schema) is not None]
    if not typed:
        return None

    @st.composite
    def case(draw: Any) -> Case:
        slot = draw(st.sampled_from(typed))
        value = draw(wrong_value(slot.schema))
        args = baseline(draw, tool.schema, tool.check)
        place(draw, tool.schema, args, slot.path, value)
        return finish(tool.check, Case(args, [dotted(slot.path)], f"{dotted(slot.path)}={value!r:.80}"))

    return case()


def missing_required(tool: Tool) -> st.SearchStrategy[Case] | None:
    required = [s for s in tool.slots if s.required]
    if not required:
        return None

    @st.composite
    def case(draw: Any) -> Case:
        slot = draw(st.sampled_from(required))
        args = baseline(draw, tool.schema, tool.check)
        if len(slot.path) > 1:  # the parent must be there for its field to be missing
            place(draw, tool.schema, args, slot.path, draw(valid(slot.schema)))
        place(draw, tool.schema, args, slot.path, remove=True)
        return finish(tool.check, Case(args, [f"{dotted(slot.path)}: required"], f"drop {dotted(slot.path)}"))

    return case()


def unknown_argument(tool: Tool) -> st.SearchStrategy[Case]:
    # approval_id is ops-mcp's own argument on every tool (see confirmation.py), removed before validation.
    known = set(tool.schema["properties"]) | {"approval_id"}
    names = st.one_of(
        st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True),
        st.sampled_from(HOSTILE_NAMES),
        st.text(min_size=1, max_size=20),
        # a look-alike of a real argument: one letter swapped for its Cyrillic twin, or padded with spaces
        st.sampled_from(sorted(known)).map(lambda n: n.replace("e", "\u0435", 1).replace("a", "\u0430", 1)),
        st.sampled_from(sorted(known)).map(lambda n: f" {n}"),
        st.sampled_from(sorted(known)).map(str.upper),
    ).filter(lambda n: n not in known)

    @st.composite
    def case(draw: Any) -> Case:
        name = draw(names)
        args = baseline(draw, tool.schema, tool.check)
        args[name] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=10)))
        expect = ["unknown argument"] + ([name] if _printable(name) else [])
        return finish(tool.check, Case(args, expect, f"extra {name!r}"))

    return case()


def huge_string(tool: Tool) -> st.SearchStrategy[Case] | None:
    targets = [
        s for s in tool.slots if (types_of(s.schema) or set()) - {"string"} or bounded_string(s.schema)
    ]
    if not targets:
        return None

    @st.composite
    def case(draw: Any) -> Case:
        slot = draw(st.sampled_from(targets))
        size = draw(st.sampled_from([4_097, 65_536, 1_000_000]))
        fragment = draw(st.sampled_from(["A", "9", "x", "/", "\u00e9", "\U0001f600", "../", "\x00", " "]))
        prefix = draw(valid(slot.schema)) if types_of(slot.schema) == {"string"} else ""
        value = (str(prefix) + fragment * size)[:size]
        args = baseline(draw, tool.schema, tool.check)
        place(draw, tool.schema, args, slot.path, value)
        return finish(
            tool.check, Case(args, [dotted(slot.path)], f"{dotted(slot.path)}: {size} x {fragment!r}")
        )

    return case()


def path_injection(tool: Tool) -> st.SearchStrategy[Case] | None:
    if not tool.path_params:
        return None

    @st.composite
    def case(draw: Any) -> Case:
        name = draw(st.sampled_from(tool.path_params))
        schema = tool.schema["properties"][name]
        if schema.get("type") == "integer":
            value = draw(
                st.one_of(
                    st.sampled_from(
                        [
                            "2024/../1",
                            "2024%2F",
                            "2024\r\n",
                            "2024?x=1",
                            "../",
                            "２０２４",
                            "\u0662\u0660\u0662\u0664",
                        ]
                    ),
                    st.integers(max_value=1899),
                    st.integers(min_value=10_000),
                    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
                )
            )
        else:
            good = draw(valid(schema))
            fragments = draw(st.lists(st.sampled_from(PATH_FRAGMENTS), min_size=1, max_size=3))
            shape = draw(st.sampled_from(["suffix", "prefix", "middle", "alone", "wrap"]))
            bad = "".join(fragments)
            middle = len(good) // 2
            value = {
                "suffix": good + bad,
                "prefix": bad + good,
                "middle": good[:middle] + bad + good[middle:],
                "alone": bad,
                "wrap": f"{bad}{good}{bad}",
            }[shape]
        args = baseline(draw, tool.schema, tool.check)
        args[name] = value
        return finish(tool.check, Case(args, [name], f"{name}={value!r:.80}"))

    return case()


def unicode_control(tool: Tool) -> st.SearchStrategy[Case] | None:
    strings = [s for s in tool.slots if types_of(s.schema) == {"string"} or "enum" in s.schema]
    if not strings:
        return None

    @st.composite
    def case(draw: Any) -> Case:
        slot = draw(st.sampled_from(strings))
        good = str(draw(valid(slot.schema)))
        fragment = draw(st.sampled_from(UNICODE_FRAGMENTS))
        at = draw(st.integers(min_value=0, max_value=len(good)))
        how = draw(st.sampled_from(["insert", "replace_first", "confusable"]))
        if how == "insert" or not good:
            value = good[:at] + fragment + good[at:]
        elif how == "replace_first":
            value = fragment + good[1:]
        else:
            table = str.maketrans(
                {
                    "a": "\u0430",
                    "e": "\u0435",
                    "o": "\u043e",
                    "p": "\u0440",
                    "c": "\u0441",
                    "0": "\uff10",
                    "1": "\uff11",
                    "2": "\u0662",
                    "_": "\uff3f",
                    "-": "\u2010",
                }
            )
            value = good.translate(table)
        args = baseline(draw, tool.schema, tool.check)
        place(draw, tool.schema, args, slot.path, value)
        return finish(tool.check, Case(args, [dotted(slot.path)], f"{dotted(slot.path)}={value!r:.80}"))

    return case()


def deep_nesting(tool: Tool) -> st.SearchStrategy[Case]:
    scalars = [s for s in tool.slots if (types_of(s.schema) or {"object"}) & {"object", "array"} == set()]

    @st.composite
    def case(draw: Any) -> Case:
        depth = draw(st.integers(min_value=20, max_value=200))
        value = nested(
            depth, draw(st.sampled_from(["x", 1, None, "../"])), draw(st.sampled_from(["list", "dict"]))
        )
        args = baseline(draw, tool.schema, tool.check)
        if scalars and draw(st.booleans()):
            slot = draw(st.sampled_from(scalars))
            place(draw, tool.schema, args, slot.path, value)
            expect, where = [dotted(slot.path)], dotted(slot.path)
        else:
            args["nested_extra"] = value
            expect, where = ["unknown argument", "nested_extra"], "nested_extra"
        return finish(tool.check, Case(args, expect, f"{where}: depth {depth}"))

    return case()


def oversized(tool: Tool) -> st.SearchStrategy[Case]:
    arrays = [s for s in tool.slots if types_of(s.schema) == {"array"}]
    upload = UPLOAD_FIELD in tool.schema["properties"]

    @st.composite
    def case(draw: Any) -> Case:
        args = baseline(draw, tool.schema, tool.check)
        kinds = (
            ["many_keys", "long_key"] + (["long_array"] if arrays else []) + (["upload"] if upload else [])
        )
        kind = draw(st.sampled_from(kinds))
        if kind == "many_keys":
            for i in range(draw(st.sampled_from([1_000, 20_000]))):
                args[f"extra_{i}"] = i
            expect = ["unknown argument"]
        elif kind == "long_key":
            args["k" * draw(st.sampled_from([10_000, 1_000_000]))] = 1
            expect = ["unknown argument"]
        elif kind == "long_array":
            slot = draw(st.sampled_from(arrays))
            items = slot.schema.get("items", {})
            bad = draw(wrong_value(items)) if types_of(items) else None
            size = draw(st.sampled_from([10_001, 100_000]))
            place(draw, tool.schema, args, slot.path, [bad] * size)
            expect = [dotted(slot.path)]
        else:
            args[UPLOAD_FIELD] = "QUFB" * (
                UPLOAD_LIMIT // 3 + 1024
            )  # ~10.7 MB of valid base64, over the limit
            expect = [UPLOAD_FIELD]
        case = Case(args, expect, kind)
        # An upload over the size limit is well formed per the schema: refused by the limit, before sending.
        return case if kind == "upload" else finish(tool.check, case)

    return case()


CATEGORIES: dict[str, Callable[[Tool], st.SearchStrategy[Case] | None]] = {
    "wrong_type": wrong_type,
    "missing_required": missing_required,
    "unknown_argument": unknown_argument,
    "huge_string": huge_string,
    "path_injection": path_injection,
    "unicode_control": unicode_control,
    "deep_nesting": deep_nesting,
    "oversized": oversized,
}
