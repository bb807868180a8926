"""Remote country forms: validate a body locally before the write, so the agent gets every
field's problem at once and the back end sees no doomed write.

Where forms live and how their bodies are shaped come from the back end's profile (``backend.forms``
and its envelope; for Remote ``GET /v1/countries/{country}/{form}`` → ``{data: <schema>}``). Schemas are cached per (connection,
country, form, query) for ``ttl_s``. Validation is JSON Schema Draft 2020-12;
``x-*`` keywords are annotations jsonschema ignores, except ``x-jsf-errorMessage``, whose text
replaces the message of the keyword it names (as Remote's own form library does).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..catalogue.models import BackendProfile, Endpoint, FormRule, FormsProfile, JsonSchema
from .connection import Connection

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

GetJson = Callable[[Connection, str, dict[str, Any] | None], Awaitable[tuple[int, Any]]]
MAX_ERRORS = 30


class FormProblem(Exception):
    """Validation could not run (no country, unknown employment, form fetch failed)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _fill(template: str, arguments: dict[str, Any]) -> str:
    out = template
    for key, value in arguments.items():
        out = out.replace("{" + key + "}", str(value))
    return out


def _dotted(value: Any, path: str) -> Any:
    """``value["a"]["b"]`` for ``"a.b"``; None where the path does not lead anywhere."""
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _field(path: list[Any]) -> str:
    return ".".join(str(p) for p in path)


def _allowed(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    if "const" in schema:
        return [str(schema["const"])]
    options = schema.get("oneOf") or schema.get("anyOf") or []
    return [str(o["const"]) for o in options if isinstance(o, dict) and "const" in o]


def _forbidden_names(error: ValidationError, root: Any, instance: Any) -> list[str]:
    """The property a ``false`` subschema forbids (jsonschema reports only ``…/properties``)."""
    node = root
    for part in error.schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return []
    parent = instance
    for part in error.path:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return []
    if not (isinstance(node, dict) and isinstance(parent, dict)):
        return []
    names = [k for k, v in node.items() if v is False and k in parent and parent[k] == error.instance]
    return names[:1]


def _message(error: ValidationError, root: Any = None, instance: Any = None) -> tuple[str, str]:
    """(field path, short message) — never the submitted value, which may be personal data."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("x-jsf-errorMessage")
    if isinstance(custom, dict) and isinstance(custom.get(error.validator), str):
        return _field(path), custom[error.validator]
    validator = error.validator
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "a field"
        return _field([*path, missing]), "is required"
    if validator == "additionalProperties":
        extra = (
            sorted(set(error.instance) - set(schema.get("properties", {})))
            if isinstance(error.instance, dict)
            else []
        )
        return _field([*path, extra[0]] if extra else path), "is not allowed"
    if validator is None or error.schema is False:
        # A false subschema ("field forbidden here") reports no instance path; take the property
        # name from where it sits in the schema.
        return _field([*path, *_forbidden_names(error, root, instance)]), "is not allowed here"
    if validator in ("enum", "const", "oneOf", "anyOf"):
        allowed = _allowed(schema)
        if allowed:
            shown = ", ".join(allowed[:15]) + (", …" if len(allowed) > 15 else "")
            return _field(path), f"must be one of: {shown}"
        return _field(path), "does not match any allowed shape"
    if validator == "type":
        expected = error.validator_value
        return _field(path), f"must be {' or '.join(expected) if isinstance(expected, list) else expected}"
    if validator == "format":
        return _field(path), f"must be a valid {error.validator_value}"
    if validator in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        return _field(path), f"violates {validator} {error.validator_value}"
    if validator == "pattern":
        return _field(path), "has the wrong format"
    if validator == "uniqueItems":
        return _field(path), "must not repeat items"
    return _field(path), f"is invalid ({validator})"


def validate(
    schema: JsonSchema, value: Any, prefix: str, validator: Validator | None = None
) -> dict[str, list[str]]:
    """Per-field messages (``{"basic_information.email": ["must be a valid email"]}``).

    ``validator``: ``schema`` already compiled (``compile_form``), when it is checked often.
    """
    validator = validator if validator is not None else compile_form(schema)
    out: dict[str, list[str]] = {}
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        # if/then/else failures repeat inside their context; report the leaves only.
        leaves = error.context if error.validator in ("if", "allOf") and error.context else [error]
        for leaf in leaves:
            name, message = _message(leaf, schema, value)
            key = f"{prefix}.{name}" if name else prefix
            if message not in out.setdefault(key, []):
                out[key].append(message)
        if len(out) >= MAX_ERRORS:
            break
    return out


class FormValidator:
    def __init__(self, get_json: GetJson, clock: Callable[[], float], ttl_s: float = 600.0) -> None:
        self._get_json = get_json
        self._clock = clock
        self._ttl = ttl_s
        self._cache: dict[tuple[Hashable, ...], tuple[float, Any]] = {}

    async def check(
        self, profile: BackendProfile, connection: Connection, endpoint: Endpoint, arguments: dict[str, Any],
        body: Any,
    ) -> dict[str, list[str]]:
        """All per-field problems of ``body`` under ``endpoint.forms`` (empty: valid)."""
        forms = profile.forms
        if forms is None or not endpoint.forms or not isinstance(body, dict):
            return {}
        data_key = profile.envelope.data_key
        problems: dict[str, list[str]] = {}
        for rule in endpoint.forms:
            targets = [k for k in body if rule.body_key == "*" or k == rule.body_key]
            if not targets:
                continue
            country = await self._country(forms, data_key, connection, rule, arguments)
            if country is None:
                continue
            query = {k: _fill(v, arguments) for k, v in rule.query.items()}
            if rule.body_key == "*":
                supported = await self._supported_forms(forms, data_key, connection, country)
                pairs = [(k, k) for k in targets if k in supported]
            else:
                pairs = [(rule.body_key, rule.form or rule.body_key)]
            for body_key, form in pairs:
                schema, validator = await self._schema(forms, data_key, connection, country, form, query)
                problems.update(validate(schema, body[body_key], body_key, validator))
        return problems

    async def _cached(self, key: tuple[Hashable, ...], load: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._cache.get(key)
        now = self._clock()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = await load()
        self._cache[key] = (now, value)
        return value

    async def _get(
        self, connection: Connection, path: str, params: dict[str, Any] | None, data_key: str | None
    ) -> Any:
        status, body = await self._get_json(connection, path, params)
        if status != 200:
            raise FormProblem(f"could not fetch {path}", status, body)
        return body[data_key] if data_key is not None and isinstance(body, dict) and data_key in body else body

    async def _country(
        self, forms: FormsProfile, data_key: str | None, connection: Connection, rule: FormRule,
        arguments: dict[str, Any],
    ) -> str | None:
        if rule.country_arg:
            value = arguments.get(rule.country_arg)
            return str(value) if value else None
        if rule.country_of_employment:
            employment_id = arguments.get(rule.country_of_employment)
            if not employment_id:
                return None
            path = forms.subject_path.replace("{id}", quote(str(employment_id), safe=""))
            data = await self._cached(
                (connection, "employment-country", str(employment_id)),
                lambda: self._get(connection, path, dict(forms.subject_query) or None, data_key),
            )
            subject = data.get(forms.subject_key, data) if isinstance(data, dict) and forms.subject_key else data
            for field in forms.subject_country_fields:
                country = _dotted(subject, field)
                if isinstance(country, str) and country:
                    return country
        return None

    async def _supported_forms(
        self, forms: FormsProfile, data_key: str | None, connection: Connection, country: str
    ) -> set[str]:
        countries = await self._cached(
            (connection, "countries"), lambda: self._get(connection, forms.countries_path, None, data_key)
        )
        if isinstance(countries, list):
            rows = countries
        elif isinstance(countries, dict) and forms.countries_key:
            rows = countries.get(forms.countries_key) or []
        else:
            rows = []
        for row in rows:
            if isinstance(row, dict) and country in (row.get(field) for field in forms.country_code_fields):
                return set(row.get(forms.supported_forms_field) or [])
        return set()

    async def _schema(
        self, forms: FormsProfile, data_key: str | None, connection: Connection, country: str, form: str,
        query: dict[str, str],
    ) -> tuple[JsonSchema, Validator]:
        """The form's schema and its validator, both cached for ``ttl_s`` (so is a non-schema)."""
        path = forms.schema_path.replace("{country}", quote(country, safe="")).replace("{form}", quote(form, safe=""))
        key = (connection, "form", country, form, tuple(sorted(query.items())))

        async def load() -> tuple[Any, Validator | None]:
            schema = await self._get(connection, path, query or None, data_key)
            if forms.schema_key and isinstance(schema, dict) and isinstance(schema.get(forms.schema_key), dict):
                schema = schema[forms.schema_key]  # e.g. Remote's newer {schema, version} shape
            return schema, compile_form(schema) if isinstance(schema, dict) else None

        schema, validator = await self._cached(key, load)
        if validator is None:
            raise FormProblem(f"the {form} form of {country} is not a JSON Schema")
        return schema, validator


def compile_form(schema: JsonSchema) -> Validator:
    # jsonschema costs ~90 ms to import: load it on the first form check, not at start-up. Each
    # form is compiled once per schema fetch (FormValidator caches the validator with the schema).
    from jsonschema import Draft202012Validator, FormatChecker

    validator: Validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return validator
