"""The quick "certainly valid" check never passes arguments that jsonschema would refuse.

``catalogue/quick_check.py`` lets valid arguments skip jsonschema; anything it is not sure of goes to jsonschema,
which words the errors. So the one promise to hold is: quick says valid ⇒ jsonschema finds no error — over
every tool's schema, with values shaped like the schema and values that are anything at all.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import Phase, find, given, settings
from hypothesis.errors import NoSuchExample

from ops_mcp.calls.validation import ArgumentValidator
from ops_mcp.catalogue.loader import load_catalogue
from ops_mcp.catalogue.quick_check import certainly_valid, ecma_regex
from ops_mcp.catalogue.tools import validation_schema

ENDPOINTS = sorted((e for m in load_catalogue().values() for e in m.endpoints), key=lambda e: e.tool)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
# Strings near the edges of the formats the quick check decides itself.
TRICKY = [
    "2024-02-29", "2023-02-29", "2024-13-01", "2024-1-01", "２０２４-01-01", "2024-01-01\n", " 2024-01-01",
    "2024-01-01T10:00:00Z", "2024-01-01t10:00:00z", "2024-01-01T24:00:00Z", "2024-01-01T10:60:00Z",
    "2024-01-01T10:00:60Z", "2024-01-01T10:00:00", "2024-01-01T10:00:00+25:00", "2024-01-01T10:00:00+02:60",
    "2024-01-01T10:00:00.123456+02:00", "2024-02-30T10:00:00Z", "2024-01-01 10:00:00Z", "2024-01-01T10:00:00Z\n",
    "0000-01-01T00:00:00Z", "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
    "123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-4266141740００",
    "a@b", "@", "no-at-sign", "", "x" * 300,
]


def shaped(schema: Any, depth: int = 0, garbage: bool = True) -> st.SearchStrategy[Any]:
    """Values shaped like ``schema`` (often valid, not always), mixed with anything at all unless not
    ``garbage``."""
    if not isinstance(schema, dict) or depth > 8:
        return JSON_VALUES if garbage else st.none()
    extra = [st.sampled_from(TRICKY), JSON_VALUES] if garbage else []
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), *extra)
    if "const" in schema:
        return st.one_of(st.just(schema["const"]), *extra)
    if "anyOf" in schema:
        return st.one_of([shaped(sub, depth + 1, garbage) for sub in schema["anyOf"]])
    kinds = schema.get("type")
    options = [_of_type(kind, schema, depth, garbage) for kind in (kinds if isinstance(kinds, list) else [kinds])]
    return st.one_of(*options, *extra)


def _of_type(kind: Any, schema: dict[str, Any], depth: int, garbage: bool) -> st.SearchStrategy[Any]:
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 12)
        fmt = schema.get("format")
        if fmt == "uuid":
            return st.uuids().map(str)
        if fmt == "date":
            return st.dates().map(datetime.date.isoformat)
        if fmt == "date-time":
            return st.datetimes(timezones=st.just(datetime.UTC)).map(datetime.datetime.isoformat)
        if fmt == "email":
            return st.emails()
        if "pattern" in schema:
            return st.from_regex(ecma_regex(schema["pattern"])).filter(lambda text: low <= len(text) <= high)
        return st.text(min_size=low, max_size=max(low, min(high, 12)))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum")) | st.floats(-1e3, 1e3).map(float)
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    if kind == "boolean":
        return st.booleans() | st.integers(0, 1)
    if kind == "null":
        return st.none()
    if kind == "array":
        items = shaped(schema.get("items", {}), depth + 1, garbage)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3))
    if kind == "object":
        properties = schema.get("properties", {})
        required = {name: shaped(properties.get(name, {}), depth + 1, garbage) for name in schema.get("required", [])}
        optional = {name: shaped(sub, depth + 1, garbage) for name, sub in properties.items() if name not in required}
        fixed = st.fixed_dictionaries(required, optional=optional)
        if not garbage:
            return fixed
        extra = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=1)
        return st.builds(lambda named, more: {**more, **named}, fixed, st.just({}) | extra)
    return JSON_VALUES if garbage else st.none()


def test_quick_valid_implies_jsonschema_valid_for_every_tool() -> None:
    checker = ArgumentValidator()
    accepted: set[str] = set()
    refused_quickly = [0]

    @settings(derandomize=True, max_examples=1000, deadline=None, database=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        endpoint = data.draw(st.sampled_from(ENDPOINTS))
        schema = validation_schema(endpoint)
        arguments = data.draw(shaped(schema))
        if not isinstance(arguments, dict):
            return
        if certainly_valid(schema, arguments):
            validator = checker._validators.get(endpoint.tool) or checker._compile(endpoint)
            problems = [error.message for error in validator.iter_errors(arguments)]
            assert not problems, (endpoint.tool, json.dumps(arguments, default=str)[:500], problems)
            accepted.add(endpoint.tool)
        else:
            refused_quickly[0] += 1

    check()
    assert accepted and refused_quickly[0] > 100  # both ways were taken


def test_valid_arguments_take_the_quick_path_for_every_tool() -> None:
    """For every tool, arguments built from its schema alone: the quick check accepts some, and jsonschema
    agrees they are valid (a quick check that is never sure would be sound, and useless). The exceptions are
    tools with a ``uri`` field (a format the quick check leaves to jsonschema) that it requires."""
    checker = ArgumentValidator()
    unsure: list[str] = []
    for endpoint in ENDPOINTS:
        schema = validation_schema(endpoint)
        try:
            arguments = find(shaped(schema, garbage=False), lambda value, schema=schema: certainly_valid(schema, value),
                             settings=settings(derandomize=True, max_examples=200, database=None,
                                               phases=[Phase.generate]))
        except NoSuchExample:
            unsure.append(endpoint.tool)
            continue
        assert checker.errors(endpoint, arguments) == [], (endpoint.tool, arguments)
    assert set(unsure) <= {e.tool for e in ENDPOINTS if '"format": "uri"' in json.dumps(validation_schema(e))}


def test_format_edges_agree_with_jsonschema() -> None:
    from jsonschema import Draft202012Validator

    checker = ArgumentValidator()
    checker._compile(ENDPOINTS[0])  # builds the format checker ops-mcp uses (uuid as RFC 4122 says)
    for fmt in ("uuid", "date", "date-time", "email", "uri"):
        schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
        validator = Draft202012Validator(schema, format_checker=checker._format_checker)
        for text in TRICKY:
            if certainly_valid(schema, {"v": text}):
                assert validator.is_valid({"v": text}), (fmt, text)
    assert certainly_valid({"properties": {"v": {"format": "uri"}}}, {"v": "https://x.example"}) is False


def test_numbers_booleans_and_enums_are_left_to_jsonschema_where_it_is_subtle() -> None:
    assert certainly_valid({"type": "integer"}, 3.0)  # jsonschema: an integral float is an integer
    assert not certainly_valid({"type": "integer"}, True)
    assert not certainly_valid({"type": "number", "minimum": 1}, 0.5)
    assert certainly_valid({"type": "boolean", "minimum": 5}, True)  # bounds apply to numbers only
    assert not certainly_valid({"enum": [1, 2]}, 1)  # decided by jsonschema (1 vs True vs 1.0)
    assert certainly_valid({"enum": ["a", None]}, None)
    assert not certainly_valid({"type": "array", "uniqueItems": True}, [1, True])
    assert not certainly_valid({"type": "string", "unknownKeyword": 1}, "x")
    assert not certainly_valid({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2})


def test_a_valid_call_does_not_load_jsonschema_and_an_invalid_one_is_worded_by_it() -> None:
    """In a fresh interpreter: the embedded sandbox answers a valid call with jsonschema never imported; the
    first invalid call imports it and gets the usual message naming the field."""
    program = """
import sys, tempfile, anyio
from ops_mcp.calls.context import CallContext
from ops_mcp.config import Settings
from ops_mcp.runtime import build_runtime
runtime = build_runtime(Settings(storage={"dir": tempfile.mkdtemp()}, backends={"remote": {"connections": {"acme": {}}}},
                                 agents={"a": {"areas": {"remote.employments": "read"}}}))
async def main():
    call = CallContext(agent="a", transport="stdio")
    ok = await runtime.executor.call(call, "remote_list_employments", {"page_size": 2})
    print("valid", ok.is_error, "jsonschema" in sys.modules)
    bad = await runtime.executor.call(call, "remote_list_employments", {"page_size": "two"})
    print("invalid", bad.is_error, "jsonschema" in sys.modules, bad.content[0].text)
anyio.run(main)
runtime.audit.close()
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "valid False False"
    assert lines[1].startswith("invalid True True") and "page_size: expected integer, got string" in lines[1]
