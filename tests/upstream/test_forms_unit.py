"""Local form validation: per-field messages without echoing values."""

from __future__ import annotations

from ops_mcp.upstream.forms import validate

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "email", "has_seniority_date"],
    "properties": {
        "name": {"type": "string", "pattern": "\\S", "x-jsf-presentation": {"inputType": "text"}},
        "email": {"type": "string", "format": "email"},
        "has_seniority_date": {"type": "string", "oneOf": [{"const": "yes"}, {"const": "no"}]},
        "seniority_date": {"type": ["string", "null"], "format": "date"},
        "salary": {
            "type": "integer",
            "minimum": 100,
            "x-jsf-errorMessage": {"minimum": "Too low for this country"},
        },
    },
    "allOf": [
        {
            "if": {
                "properties": {"has_seniority_date": {"const": "yes"}},
                "required": ["has_seniority_date"],
            },
            "then": {"required": ["seniority_date"]},
            "else": {"properties": {"seniority_date": False}},
        }
    ],
    "x-jsf-order": ["name"],
}


def test_per_field_messages():
    problems = validate(
        SCHEMA,
        {"email": "not-an-email", "has_seniority_date": "maybe", "salary": 5, "x": 1},
        "basic_information",
    )
    assert problems["basic_information.name"] == ["is required"]
    assert problems["basic_information.email"] == ["must be a valid email"]
    assert problems["basic_information.has_seniority_date"] == ["must be one of: yes, no"]
    assert problems["basic_information.salary"] == ["Too low for this country"]
    assert problems["basic_information.x"] == ["is not allowed"]
    assert "not-an-email" not in str(problems)


def test_conditionals():
    assert validate(SCHEMA, {"name": "A", "email": "a@b.co", "has_seniority_date": "yes"}, "b") == {
        "b.seniority_date": ["is required"]
    }
    assert validate(
        SCHEMA,
        {"name": "A", "email": "a@b.co", "has_seniority_date": "no", "seniority_date": "2020-01-01"},
        "b",
    ) == {"b.seniority_date": ["is not allowed here"]}
