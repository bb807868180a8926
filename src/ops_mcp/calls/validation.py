"""Argument validation before any upstream request, with messages that name the field and what is allowed."""

from __future__ import annotations

from itertools import islice
from typing import Any

from ..catalogue.models import Endpoint
from ..catalogue.quick_check import UUID, certainly_valid, ecma_regex
from ..catalogue.tools import validation_schema

_MAX_REPORTED = 5
_MAX_COLLECTED = 100  # a 100k-item array of wrong values must not cost 100k error objects
_MAX_VALUE_CHARS = 60
_MAX_NAMES = 10


class ArgumentValidator:
    """Compiled validators per tool, built on first use (start-up stays cheap)."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        self._format_checker: Any = None

    def errors(self, endpoint: Endpoint, arguments: Any) -> list[str]:
        if not isinstance(arguments, dict):
            return ["arguments must be a JSON object"]
        broken = _lone_surrogate(arguments)
        if broken is not None:
            return [f"{broken}: is not valid Unicode text (it holds a lone surrogate)"]
        schema = self._schemas.get(endpoint.tool)
        if schema is None:
            schema = self._schemas[endpoint.tool] = validation_schema(endpoint)
        if certainly_valid(schema, arguments):
            return []  # jsonschema is asked only when the quick check is not sure (quick_check.py)
        validator = self._validators.get(endpoint.tool)
        if validator is None:
            validator = self._compile(endpoint)
        found = sorted(islice(validator.iter_errors(arguments), _MAX_COLLECTED),
                       key=lambda e: (list(map(str, e.absolute_path)), e.validator))
        return [describe(error) for error in found[:_MAX_REPORTED]]

    def _compile(self, endpoint: Endpoint) -> Any:
        # jsonschema is imported when first needed, not at start-up (~25 ms).
        from jsonschema import Draft202012Validator, FormatChecker, validators

        if self._format_checker is None:
            self._format_checker = FormatChecker()
            # Python's UUID() accepts non-ASCII digits and surrounding whitespace ("\r…"); RFC 4122 does not.
            self._format_checker.checks("uuid")(lambda v: not isinstance(v, str) or bool(UUID.match(v)))
        # JSON Schema patterns are ECMA-262: \d and \w are ASCII, and $ does not match before a final newline.
        cls = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern_keyword})
        schema = self._schemas.get(endpoint.tool) or validation_schema(endpoint)
        validator = cls(schema, format_checker=self._format_checker)
        self._validators[endpoint.tool] = validator
        return validator


def _ecma_pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Any):
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _lone_surrogate(arguments: dict[str, Any]) -> str | None:
    """The path of the first key or string that cannot be UTF-8 (only an in-process caller can send one)."""
    stack: list[tuple[str, Any]] = [("", arguments)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if not _utf8(value):
                return where or "arguments"
        elif isinstance(value, dict):
            for key, sub in value.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and not _utf8(key):
                    return f"{where or 'arguments'} (an argument name)"
                stack.append((name, sub))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}", sub) for i, sub in enumerate(value))
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def describe(error: Any) -> str:
    field = ".".join(str(p) for p in error.absolute_path) or None
    kind = error.validator
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        prefix = f"{field}." if field else ""
        return f"{prefix}{missing}: required"
    if kind == "additionalProperties":
        extras = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
        where = f"{field}: " if field else ""
        named = ", ".join(_clip(str(name)) for name in extras[:_MAX_NAMES])
        more = f" and {len(extras) - _MAX_NAMES} more" if len(extras) > _MAX_NAMES else ""
        return f"{where}unknown argument(s) {named}{more}; allowed: {allowed}"
    name = field or "arguments"
    if kind == "enum":
        return f"{name}: {_show(error.instance)} is not allowed; use one of {', '.join(map(str, error.validator_value))}"
    if kind == "type":
        return f"{name}: expected {_types(error.validator_value)}, got {_json_type(error.instance)}"
    if kind == "format":
        return f"{name}: {_show(error.instance)} is not a valid {error.validator_value}"
    if kind == "pattern":
        return f"{name}: {_show(error.instance)} has characters that are not allowed (must match {error.validator_value})"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{name}: {_show(error.instance)} is out of range ({kind} {error.validator_value})"
    if kind in ("minLength", "maxLength", "minItems", "maxItems"):
        return f"{name}: {kind} is {error.validator_value}"
    if kind == "const":
        return f"{name}: must be {_show(error.validator_value)}"
    return f"{name}: {error.message[:200]}"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _types(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
