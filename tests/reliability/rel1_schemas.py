"""Hypothesis strategies for item 1 (bad input): valid baselines and malformed arguments, derived from each
tool's own validation schema.

Every case is malformed *by construction* (a wrong type, a dropped required field, a path value with
characters no id may hold...) and is double-checked against an oracle that shares no code with the server:
the stock ``jsonschema`` validator, with Python's own regular expressions and format checks, plus "a string
must be encodable as UTF-8". A drawn case the oracle finds valid is discarded, so the suite never demands that
the server refuse something its contract allows.

Why the stock validator may judge "malformed": JSON Schema patterns are ECMA-262, where ``\\d`` and ``\\w`` are
ASCII and ``$`` matches only at the very end; Python's are Unicode and let ``$`` match before a final newline.
For the constructs the catalogue uses (checked by ``test_the_oracle_can_judge_every_catalogue_pattern``),
Python accepts everything ECMA-262 accepts and more, and the stock ``uuid`` check is likewise looser than
RFC 4122. So what the oracle refuses, the contract refuses. What only ECMA-262 refuses (a final newline,
Arabic-Indic or full-width digits, non-ASCII letters) is discarded here and checked instead by the
hand-decided table in ``rel1_ecma.py``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

# -- the oracle --------------------------------------------------------------------------------------------


def oracle(schema: dict[str, Any]) -> Any:
    return Draft202012Validator(schema, format_checker=FormatChecker())


def encodable(value: Any) -> bool:
    """JSON text on the wire is UTF-8: a lone surrogate anywhere (key or value) is malformed."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return True


def is_valid(validator: Any, arguments: Any) -> bool:
    try:
        return encodable(arguments) and validator.is_valid(arguments)
    except RecursionError:
        return False


# -- slots: where in the arguments a value can go --------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    path: tuple[str | int, ...]
    schema: dict[str, Any]
    required: bool


def slots(schema: dict[str, Any], prefix: tuple[str | int, ...] = (), depth: int = 0) -> list[Slot]:
    found: list[Slot] = []
    if "properties" in schema:
        required = set(schema.get("required", []))
        for name, sub in schema["properties"].items():
            path = (*prefix, name)
            found.append(Slot(path, sub, name in required))
            if depth < 3 and isinstance(sub, dict):
                found += slots(sub, path, depth + 1)
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        path = (*prefix, 0)
        found.append(Slot(path, schema["items"], False))
        if depth < 3:
            found += slots(schema["items"], path, depth + 1)
    return found


def dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


def types_of(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a slot accepts, or None when its schema does not say (anyOf, untyped...)."""
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return {_json_type(v) for v in values} | (
            {"number"} if any(_json_type(v) == "integer" for v in values) else set()
        )
    kind = schema.get("type")
    if isinstance(kind, str):
        kinds = {kind}
    elif isinstance(kind, list):
        kinds = set(kind)
    else:
        return None
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "object")


# -- valid values ------------------------------------------------------------------------------------------

_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_WORD = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=10)


def valid(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Small valid values of ``schema``; objects carry their required properties only."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([valid(sub, depth + 1) for sub in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string" or (kind is None and ("pattern" in schema or "format" in schema)):
        return _valid_string(schema)
    if kind in ("integer", "number"):
        low = schema.get(
            "minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else 0
        )
        high = schema.get("maximum", low + 1000)
        return st.integers(min_value=math.ceil(low), max_value=math.floor(high))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = schema.get("items", {"type": "string"})
        low = schema.get("minItems", 0)
        high = max(low, min(schema.get("maxItems", 2), 2))
        unique = (lambda v: json.dumps(v, sort_keys=True)) if schema.get("uniqueItems") else None
        return st.lists(valid(items, depth + 1), min_size=low, max_size=high, unique_by=unique)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = [name for name in schema.get("required", []) if name in props]
        return st.fixed_dictionaries({name: valid(props[name], depth + 1) for name in required})
    return st.just("x")


def _valid_string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    fmt = schema.get("format")
    if fmt == "date":
        strategy = st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)
    elif fmt == "date-time":
        strategy = (
            st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")).filter(lambda s: len(s) == 20)
        )
    elif fmt == "uuid":
        strategy = st.uuids().map(str)
    elif fmt == "email":
        strategy = _WORD.map(lambda w: f"{w}@example.com")
    elif fmt == "uri":
        strategy = _WORD.map(lambda w: f"https://example.com/{w}")
    elif "pattern" in schema:
        # Printable ASCII and a full match (no final newline): a value ECMA-262 and Python agree on.
        strategy = st.from_regex(schema["pattern"], fullmatch=True, alphabet=_ASCII)
    else:
        strategy = st.text(
            st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
            min_size=max(low, 1),
            max_size=max(low, 1, min(high or 12, 12)),
        )
    if "pattern" in schema and fmt is not None:
        regex = re.compile(schema["pattern"])
        strategy = strategy.filter(lambda s: bool(regex.search(s)))
    return strategy.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))


# -- hostile material --------------------------------------------------------------------------------------

PATH_FRAGMENTS = [
    "../",
    "..",
    ".",
    "/",
    "..%2F",
    "%2F",
    "%2f",
    "%2e%2e%2f",
    "%2e%2e",
    "..\\",
    "\\",
    "\r\n",
    "\r\nX-Injected: yes",
    "\nHost: evil.example",
    "?x=1",
    "?page_size=1000",
    "&x=1",
    "#frag",
    ";x=1",
    " ",
    "\t",
    "\x00",
    "%00",
    "%0d%0a",
    "\u200b",
    "\ufeff",
    "\u202e",
    "\u2028",
    "\u0430",
    "\u043e",
    "\uff10",
    "\u0660",
    "\uff0f",
    "\u2215",
    "\ud800",
    "\U0001f600",
    "e\u0301",
    "\x7f",
    "@evil.example",
    "//evil.example/",
    "http://evil.example/",
]
UNICODE_FRAGMENTS = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
    "\u2066",
    "\u00a0",
    "\u3000",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r",
    "\n",
    "\x7f",
    "\u0301",
    "\u0430",
    "\u0435",
    "\u043e",
    "\u0440",
    "\u0441",
    "\uff10",
    "\uff41",
    "\u0660",
    "\u0966",
    "\u00b2",
    "\u2163",
    "\ud800",
    "\udfff",
    "\U0001d5ba",
    "\U0001f4a9",
]
HOSTILE_NAMES = [
    "Authorization",
    "authorization",
    "headers",
    "__proto__",
    "constructor",
    "../etc/passwd",
    "x\r\ny",
    "\x00",
    "",
    " ",
    "$ref",
    "body",
    "page_size ",
    "FIELDS",
    "\u200bfields",
    "f\u0456elds",
]


def wrong_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value of a JSON type the slot does not accept."""
    accepted = types_of(schema)
    pools: dict[str, st.SearchStrategy[Any]] = {
        "string": st.one_of(st.text(max_size=20), st.sampled_from(PATH_FRAGMENTS)),
        "integer": st.integers(min_value=-(2**70), max_value=2**70),
        "number": st.floats(allow_nan=False, allow_infinity=False, width=64).filter(
            lambda f: not f.is_integer()
        ),
        "boolean": st.booleans(),
        "null": st.none(),
        "array": st.lists(st.integers(), max_size=3),
        "object": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    }
    if accepted is None:
        return st.nothing()
    if "enum" in schema or "const" in schema:
        allowed = schema.get("enum", [schema.get("const")])
        return st.one_of(list(pools.values())).filter(lambda v: v not in allowed or type(v) is bool)
    kinds = [k for k in pools if k not in accepted]
    return st.one_of([pools[k] for k in kinds]) if kinds else st.nothing()


def nested(depth: int, leaf: Any = "x", kind: str = "list") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def bounded_string(schema: dict[str, Any]) -> bool:
    """A string slot whose schema refuses arbitrary long text (a huge value is then malformed)."""
    return (
        "maxLength" in schema
        or "enum" in schema
        or schema.get("format") in ("date", "date-time", "uuid")
        or ("pattern" in schema and schema["pattern"].endswith("$"))
    )


# -- building a case -------------------------------------------------------------------------------------


@dataclass
class Case:
    arguments: Any
    expect: list[str]  # every one of these must appear in the error text
    where: str  # what was mutated, for failure messages


def place(
    draw: Any, schema: dict[str, Any], container: Any, path: tuple, value: Any = None, remove: bool = False
) -> None:
    """Put ``value`` at ``path`` inside a valid ``container``, creating valid intermediates as needed."""
    key, rest = path[0], path[1:]
    if isinstance(container, list):
        sub = schema.get("items", {})
        if not rest:
            if container:
                container[0] = value
            else:
                container.append(value)
            return
        if not container:
            container.append(draw(valid(sub)))
        child = container[0]
    else:
        sub = schema.get("properties", {}).get(key, {})
        if not rest:
            if remove:
                container.pop(key, None)
            else:
                container[key] = value
            return
        child = container.get(key)
        if not isinstance(child, dict | list):
            child = draw(valid(sub))
    if isinstance(child, list) and not child and rest:
        child.append(draw(valid(sub.get("items", {}))))
    place(draw, sub, child, rest, value, remove)
    if isinstance(container, list):
        container[0] = child
    else:
        container[key] = child


def baseline(draw: Any, schema: dict[str, Any], check: Any) -> dict[str, Any]:
    base = draw(valid(schema))
    assume(is_valid(check, base))
    return copy.deepcopy(base)


def finish(check: Any, case: Case) -> Case:
    assume(not is_valid(check, case.arguments))
    return case
