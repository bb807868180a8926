"""Item 1, the pattern rules: every ``pattern`` (and the ``uuid`` format) of the catalogue is checked by the
server exactly as ECMA-262 / RFC 4122 decide, on the hand-decided rows of ``rel1_ecma.py``; and the oracle
the generated cases use (stock ``jsonschema``, Python regexes) may only ever be looser than those rules."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ops_mcp.calls.validation import ArgumentValidator
from ops_mcp.catalogue import load_catalogue
from ops_mcp.catalogue.tools import validation_schema

from .rel1_ecma import TABLE, UUID, Rows
from .rel1_schemas import oracle

CATALOGUE = load_catalogue()
ENDPOINTS = {e.tool: e for manifest in CATALOGUE.values() for e in manifest.endpoints}
# Constructs whose Python meaning accepts at least what the ECMA-262 meaning accepts: literals, escaped
# punctuation, \d and \w (Unicode in Python, ASCII in ECMA-262), classes of listed characters and ranges,
# groups, alternation, quantifiers, ^ and $ (Python's $ also matches before a final newline).
JUDGEABLE = re.compile(r"""(?x)
    \\[dw] | \\[-+*./\\^$|?(){}\[\]] | \[(?!\^)(?:\\[dw\]\\-]|[^\]\\])+\] | [(){},|?*+^$] | [-A-Za-z0-9_:/ ,.]
""")


def _patterns(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            found.add(schema["pattern"])
        for value in schema.values():
            _patterns(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _patterns(value, found)
    return found


CATALOGUE_PATTERNS = set().union(*(_patterns(validation_schema(e), set()) for e in ENDPOINTS.values()))


def _slot(rows: Rows) -> dict[str, Any]:
    """The schema of the argument a table entry names."""
    name, _, item = rows.argument.partition(".")
    schema = validation_schema(ENDPOINTS[rows.tool])["properties"][name]
    return schema["items"] if item else schema


def _arguments(rows: Rows, value: str) -> dict[str, Any]:
    return rows.arguments(value)


def test_the_table_covers_every_pattern_of_the_catalogue() -> None:
    assert set(TABLE) - {UUID} == CATALOGUE_PATTERNS, "decide rows for a new pattern in rel1_ecma.py"
    for key, rows in TABLE.items():
        decisions = {accepted for _, accepted in rows.cases}
        assert decisions == {True, False}, f"{key}: needs both accepted and refused rows"


@pytest.mark.parametrize("key", sorted(TABLE))
def test_each_entry_names_an_argument_that_carries_its_pattern(key: str) -> None:
    slot = _slot(TABLE[key])
    assert (slot.get("format") == "uuid") if key == UUID else (slot.get("pattern") == key), slot


@pytest.mark.parametrize("key", sorted(TABLE))
def test_the_server_decides_every_row_as_ecma_262_does(key: str) -> None:
    rows = TABLE[key]
    validator, wrong = ArgumentValidator(), []
    for value, accepted in rows.cases:
        errors = validator.errors(ENDPOINTS[rows.tool], _arguments(rows, value))
        refused = any(error.startswith(f"{rows.argument}:") for error in errors)
        if refused == accepted:
            wrong.append(f"{value!r}: {'refused' if refused else 'accepted'} {errors}")
    assert not wrong, f"{rows.tool}.{rows.argument} ({key}):\n" + "\n".join(wrong)


def test_the_oracle_can_judge_every_catalogue_pattern() -> None:
    """Only constructs for which Python accepts a superset of ECMA-262 (see rel1_schemas): then a value the
    oracle refuses is one the contract refuses."""
    for pattern in CATALOGUE_PATTERNS:
        rest = JUDGEABLE.sub("", pattern)
        assert rest == "", f"{pattern!r} uses {rest!r}: the oracle in rel1_schemas cannot judge it"


@pytest.mark.parametrize("key", sorted(TABLE))
def test_the_oracle_accepts_every_row_ecma_262_accepts(key: str) -> None:
    """The oracle is looser, never stricter: every accepted row passes it too."""
    rows = TABLE[key]
    check = oracle(_slot(rows))
    stricter = [value for value, accepted in rows.cases if accepted and not check.is_valid(value)]
    assert not stricter, stricter
