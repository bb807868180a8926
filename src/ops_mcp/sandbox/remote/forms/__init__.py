"""Country JSON-Schema forms: loading the data files and validating bodies against them.

Countries with their own folder in `data/` (PRT, DEU, FRA, USA, GBR) have hand-shaped forms; the
other supported countries share `data/_generic/`, with the currency filled in. Validation uses
Draft 2020-12; `x-*` keywords are annotations jsonschema ignores, except `x-jsf-errorMessage`,
which (as in Remote's forms) replaces the message of the keyword it names.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

DATA = Path(__file__).parent / "data"
SPECIFIC_COUNTRIES = ("PRT", "DEU", "FRA", "USA", "GBR")
FORM_NAMES = (
    "employment_basic_information",
    "contract_details",
    "personal_details",
    "address_details",
    "pricing_plan_details",
    "emergency_contact_details",
    "contract_amendment",
    "company_basic_information",
    "administrative_details",
    "bank_account_details",
    "billing_address_details",
)
# Employment body keys that name a form (PATCH bodies are keyed by form name; Remote also uses
# `basic_information` for the first form).
BODY_KEY_TO_FORM = {
    "basic_information": "employment_basic_information",
    "employment_basic_information": "employment_basic_information",
    "contract_details": "contract_details",
    "personal_details": "personal_details",
    "address_details": "address_details",
    "pricing_plan_details": "pricing_plan_details",
    "emergency_contact_details": "emergency_contact_details",
    "administrative_details": "administrative_details",
    "bank_account_details": "bank_account_details",
    "billing_address_details": "billing_address_details",
}


@lru_cache(maxsize=1)
def _validator_parts() -> tuple[Any, Any]:
    """jsonschema, loaded when a form is first validated: a sandbox that never checks a form (most calls)
    does not load it, so an embedded sandbox does not add it to ops-mcp's first call."""
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator, FormatChecker()


@lru_cache(maxsize=256)
def _raw(country_code: str, form: str) -> str:
    folder = DATA / country_code if country_code in SPECIFIC_COUNTRIES else DATA / "_generic"
    return (folder / f"{form}.json").read_text()


def load_form(country_code: str, form: str, currency: str, today: date) -> dict[str, Any]:
    """The form as served; raises KeyError for an unknown form name."""
    if form not in FORM_NAMES:
        raise KeyError(form)
    text = (
        _raw(country_code, form)
        .replace("{{currency}}", currency)
        .replace("{{today}}", today.isoformat())
        .replace("{{min_start_date}}", (today + timedelta(days=7)).isoformat())
    )
    return json.loads(text)


def _path(parts) -> str:
    return ".".join(str(p) for p in parts)


def _message(error: ValidationError) -> str:
    custom = error.schema.get("x-jsf-errorMessage") if isinstance(error.schema, dict) else None
    if isinstance(custom, dict) and error.validator in custom:
        return custom[error.validator]
    match error.validator:
        case None:
            return "boolean schema is false"
        case "type":
            expected = error.validator_value
            return f"Should be {' or '.join(expected) if isinstance(expected, list) else expected}"
        case "oneOf" | "enum" | "const":
            return "Should be equal to one of the allowed values"
        case "format":
            return f'Should match format "{error.validator_value}"'
        case "pattern":
            return f'Should match pattern "{error.validator_value}"'
        case "minimum":
            return f"Should be >= {error.validator_value}"
        case "maximum":
            return f"Should be <= {error.validator_value}"
        case "minLength":
            return f"Should NOT be shorter than {error.validator_value} characters"
        case "maxLength":
            return f"Should NOT be longer than {error.validator_value} characters"
        case "uniqueItems":
            return "Should NOT have duplicate items"
    return error.message


def _forbidden_fields(root: Any, schema_path: list, data: Any, instance_path: list) -> list[str]:
    """Names of present fields that the `properties` object at `schema_path` sets to `false`."""
    node = root
    for step in schema_path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return []
    if schema_path and schema_path[-1] != "properties":
        return []
    instance = data
    for step in instance_path:
        try:
            instance = instance[step]
        except (KeyError, IndexError, TypeError):
            return []
    if not isinstance(node, dict) or not isinstance(instance, dict):
        return []
    return [name for name, sub in node.items() if sub is False and name in instance]


def _collect(error: ValidationError, prefix: str, out: dict[str, list[str]], root: Any, data: Any) -> None:
    base = [prefix] if prefix else []
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in error.validator_value:
            if name not in present:
                key = _path([*base, *error.absolute_path, name])
                out.setdefault(key, []).append(f"Should have required property {name}")
        return
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        for name in error.instance:
            if name not in allowed:
                key = _path([*base, *error.absolute_path, name])
                out.setdefault(key, []).append("Should NOT have additional properties")
        return
    parts = [*base, *error.absolute_path]
    if error.validator is None:
        forbidden = _forbidden_fields(root, list(error.absolute_schema_path), data, list(error.absolute_path))
        if forbidden:
            # jsonschema reports `properties: {f: false}` at the parent object; name each field.
            for name in forbidden:
                out.setdefault(_path([*parts, name]), []).append("boolean schema is false")
            return
    key = _path(parts) or prefix or "base"
    message = _message(error)
    if message not in out.setdefault(key, []):
        out[key].append(message)


def validate(schema: dict[str, Any], data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Per-field error messages (empty when valid); keys are dotted paths under `prefix`."""
    errors: dict[str, list[str]] = {}
    draft, format_checker = _validator_parts()
    validator = draft(schema, format_checker=format_checker)
    for error in validator.iter_errors(data):
        _collect(error, prefix, errors, schema, data)
    return errors


def is_valid_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
