"""A quick "these arguments are certainly valid" for the JSON Schema subset the catalogue's tools use.

Most calls carry valid arguments. jsonschema proves that at ~30-50 µs a call, and importing it costs a
server's first call ~25 ms (its referencing and format machinery) — the largest single part of the
first call's extra time after start. This walks the schema once, in plain Python, and answers only
``True`` (valid, certainly) or ``None`` (not sure: invalid, or a keyword or value it does not decide).
``None`` sends the arguments to jsonschema, which finds the errors and words them; so every message still
comes from jsonschema, and nothing this module does can let through what jsonschema would refuse.

Sound by construction: every keyword it does not know, every format other than the ones below, and any
case where jsonschema's rules are subtle (booleans against numbers and enums, uniqueness of non-strings)
is "not sure". ``tests/server/test_quick_check.py`` checks the implication over every tool's schema.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from typing import Any

# Keywords that only annotate (jsonschema validates nothing for them).
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "contentEncoding", "contentMediaType",
                          "readOnly", "writeOnly", "deprecated", "$comment"})
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
# RFC 3339 date-time, as strict as the rfc3339-validator jsonschema uses when it is installed (and
# jsonschema checks nothing for the format when it is not).
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))\Z", re.ASCII
)


@lru_cache(maxsize=512)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A JSON Schema (ECMA-262) pattern as a Python regex: ASCII classes, ``$`` only at the very end."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        elif ch == "$" and not in_class:
            ch = r"\Z"
        out.append(ch)
        i += 1
    return re.compile("".join(out), re.ASCII)


def certainly_valid(schema: Any, instance: Any) -> bool:
    """True only when ``instance`` is valid against ``schema`` under the rules jsonschema applies."""
    return _valid(schema, instance) is True


def _valid(schema: Any, value: Any) -> bool | None:
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict):
        return None
    for keyword, rule in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        check = _KEYWORDS.get(keyword)
        if check is None or check(rule, value, schema) is not True:
            return None
    return True


def _type(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    names = rule if isinstance(rule, list) else [rule]
    return True if any(_is_type(value, name) for name in names) else None


def _is_type(value: Any, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float)
    return False


def _properties(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, dict):
        return True  # applies to objects only
    for key, sub in rule.items():
        if key in value and _valid(sub, value[key]) is not True:
            return None
    return True


def _additional(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, dict):
        return True
    if "patternProperties" in schema:
        return None
    declared = schema.get("properties", {})
    extras = [key for key in value if key not in declared]
    if rule is False:
        return None if extras else True
    return True if all(_valid(rule, value[key]) is True for key in extras) else None


def _required(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, dict):
        return True
    return True if all(name in value for name in rule) else None


def _items(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, list):
        return True
    if "prefixItems" in schema:
        return None
    return True if all(_valid(rule, item) is True for item in value) else None


def _enum(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    # Only strings and null are decided: jsonschema tells 1 from True and 1 from 1.0 in its own way.
    if value is None or isinstance(value, str):
        return True if any(type(option) is type(value) and option == value for option in rule) else None
    return None


def _const(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    return _enum([rule], value, schema)


def _bound(test: Any) -> Any:
    def check(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True  # applies to numbers only
        if not isinstance(rule, int | float) or isinstance(rule, bool):
            return None
        return True if test(value, rule) else None

    return check


def _length(test: Any, kind: type[str] | type[list[Any]]) -> Any:
    def check(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
        if not isinstance(value, kind):
            return True
        return True if isinstance(rule, int) and test(len(value), rule) else None

    return check


def _pattern(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, str):
        return True
    return True if ecma_regex(rule).search(value) else None


def _unique(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, list) or rule is False:
        return True
    if all(isinstance(item, str) for item in value):
        return True if len(set(value)) == len(value) else None
    return None


def _format(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    if not isinstance(value, str):
        return True
    if rule == "uuid":
        return True if UUID.match(value) else None
    if rule == "date":
        return True if _DATE.match(value) and _parses(datetime.date.fromisoformat, value) else None
    if rule == "date-time":
        return True if _valid_date_time(value) else None
    if rule == "email":
        return True if "@" in value else None
    return None  # other formats: jsonschema decides


def _valid_date_time(value: str) -> bool:
    match = _DATE_TIME.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not (_parses(lambda _: datetime.date(year, month, day), value) and hour < 24 and minute < 60 and second < 60):
        return False
    offset_hour, offset_minute = match.group(9), match.group(10)
    return offset_hour is None or (int(offset_hour) < 24 and int(offset_minute) < 60)


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _any_of(rule: Any, value: Any, schema: dict[str, Any]) -> bool | None:
    return True if any(_valid(sub, value) is True for sub in rule) else None


_KEYWORDS: dict[str, Any] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "enum": _enum,
    "const": _const,
    "minimum": _bound(lambda v, r: v >= r),
    "maximum": _bound(lambda v, r: v <= r),
    "exclusiveMinimum": _bound(lambda v, r: v > r),
    "exclusiveMaximum": _bound(lambda v, r: v < r),
    "minLength": _length(lambda n, r: n >= r, str),
    "maxLength": _length(lambda n, r: n <= r, str),
    "minItems": _length(lambda n, r: n >= r, list),
    "maxItems": _length(lambda n, r: n <= r, list),
    "pattern": _pattern,
    "uniqueItems": _unique,
    "format": _format,
    "anyOf": _any_of,
}
