"""Argument validation before any upstream request, with messages that name the field and what is allowed."""

from __future__ import annotations

from typing import Any

from ..catalogue.models import Endpoint
from ..tools import validation_schema

_MAX_REPORTED = 5
_MAX_VALUE_CHARS = 60


class ArgumentValidator:
    """Compiled validators per tool, built on first use (start-up stays cheap)."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}
        self._format_checker: Any = None

    def errors(self, endpoint: Endpoint, arguments: Any) -> list[str]:
        if not isinstance(arguments, dict):
            return ["arguments must be a JSON object"]
        validator = self._validators.get(endpoint.tool)
        if validator is None:
            # jsonschema is imported on the first call, not at start-up (~90 ms).
            from jsonschema import Draft202012Validator, FormatChecker

            self._format_checker = self._format_checker or FormatChecker()
            validator = Draft202012Validator(validation_schema(endpoint), format_checker=self._format_checker)
            self._validators[endpoint.tool] = validator
        found = sorted(validator.iter_errors(arguments), key=lambda e: (list(e.absolute_path), e.validator))
        return [describe(error) for error in found[:_MAX_REPORTED]]


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
        return f"{where}unknown argument(s) {', '.join(extras)}; allowed: {allowed}"
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


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _types(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
