"""Redaction: personal fields by key name, secrets by value, and no crash on odd input."""

from __future__ import annotations

import importlib
import json
import math

import pytest

from ops_mcp.audit import DEFAULT_REDACTED_FIELDS, redact, redact_text
from ops_mcp.audit.redact import MAX_STRING, REDACTED, make_scrubber

SECRET = "ra_test_Zq81xYw0LmNOPQ"
# The module (the package exports a function of the same name).
redact_module = importlib.import_module("ops_mcp.audit.redact")


def test_personal_fields_redacted_at_any_depth_and_case() -> None:
    args = {
        "employment_id": "em_9",
        "personal_email": "ann@example.com",
        "WorkEmail": "ann@acme.example",
        "IBAN": "DE89370400440532013000",
        "employee": {
            "full_name": "Ann Example",
            "phone_number": "+49 30 1234",
            "home_address": {"street": "Hauptstr. 1", "city": "Berlin"},
            "date_of_birth": "1990-01-01",
            "tax_id": "12/345/67890",
        },
        "compensations": [{"annual_salary": 90000, "currency": "EUR"}, {"bonus_amount": 5000}],
        "bank_account": {"account_number": "123", "sort_code": "10-20-30"},
    }
    out = redact(args)
    assert out["employment_id"] == "em_9"
    for key in ("personal_email", "WorkEmail", "IBAN", "bank_account"):
        assert out[key] == REDACTED
    assert out["employee"]["full_name"] == "Ann Example"
    for key in ("phone_number", "home_address", "date_of_birth", "tax_id"):
        assert out["employee"][key] == REDACTED
    # a list under a sensitive key is redacted whole
    assert out["compensations"] == REDACTED


def test_lists_of_dicts_are_walked() -> None:
    out = redact({"people": [{"id": "em_1", "email": "a@b.c"}, {"id": "em_2", "mobile": "+1"}]})
    assert out == {"people": [{"id": "em_1", "email": REDACTED}, {"id": "em_2", "mobile": REDACTED}]}


@pytest.mark.parametrize(
    "key",
    ["access_token", "Authorization", "x-api-key", "apiKey", "client_secret", "password", "content_base64",
     "ssn", "national_id_number", "passport", "birthDate", "postal_code", "salary", "amount"],
)  # fmt: skip
def test_default_list_covers(key: str) -> None:
    assert redact({key: "v"})[key] == REDACTED


@pytest.mark.parametrize(
    "key", ["employment_id", "start_date", "status", "country_code", "note", "setting", "routing", "title"]
)
def test_innocent_keys_kept(key: str) -> None:
    assert redact({key: "v"})[key] == "v"


def test_short_patterns_match_whole_words_only() -> None:
    out = redact({"tin": "1", "customer_tin": "2", "setting": "3", "dob": "4", "adobe": "5"})
    assert out == {"tin": REDACTED, "customer_tin": REDACTED, "setting": "3", "dob": REDACTED, "adobe": "5"}


def test_none_under_sensitive_key_stays_none() -> None:
    assert redact({"email": None}) == {"email": None}


def test_custom_field_list() -> None:
    out = redact({"email": "a@b.c", "reason": "sick"}, fields={"reason"})
    assert out == {"email": "a@b.c", "reason": REDACTED}
    assert "email" in DEFAULT_REDACTED_FIELDS


def test_known_secrets_removed_inside_strings_keys_and_lists() -> None:
    args = {
        "note": f"token is {SECRET}, really",
        "links": [f"https://x.example/?t={SECRET}", {"deep": [SECRET + SECRET]}],
        f"k_{SECRET}": 1,
    }
    out = redact(args, secrets=[SECRET, "", "ab"])  # empty and very short secrets are ignored
    text = json.dumps(out)
    assert SECRET not in text
    assert out["note"] == f"token is {REDACTED}, really"
    assert out["links"][1]["deep"] == [REDACTED + REDACTED]
    assert "ab" not in REDACTED and out["note"].count(REDACTED) == 1


def test_token_shapes_removed_without_being_configured() -> None:
    out = redact({"note": "use Bearer eyJhbGciOiJIUzI1NiJ9.x.y or ra_live_abcdefgh12345678"})
    assert out["note"] == f"use {REDACTED} or {REDACTED}"


def test_long_strings_truncated_after_secret_removal() -> None:
    long = "a" * (MAX_STRING - 5) + SECRET + "b" * 2000
    out = redact({"note": long}, secrets=[SECRET])["note"]
    # The secret is replaced before the cut, so no prefix of it can survive truncation.
    assert out.startswith("a" * (MAX_STRING - 5) + "[reda…[truncated, ")
    assert len(out) < MAX_STRING + 40
    assert SECRET[:8] not in out


class _Weird:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_odd_input_never_raises() -> None:
    cyclic: dict = {}
    cyclic["self"] = cyclic
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["n"] = {}
        node = node["n"]
    args = {
        "blob": b"\x00\x01",
        "raw": bytearray(b"abc"),
        "nan": float("nan"),
        "inf": float("inf"),
        "tags": {"b", "a"},
        "tuple": (1, 2),
        "obj": object(),
        "weird": _Weird(),
        "cyclic": cyclic,
        "deep": deep,
        1: "int key",
        (1, 2): "tuple key",
        "surrogate": "bad \ud800 char",
        "big": list(range(10_000)),
    }
    out = redact(args)
    # Everything that comes back is strict JSON and valid UTF-8.
    json.dumps(out, allow_nan=False).encode("utf-8")
    assert out["blob"] == REDACTED  # "blob" is a document-content key
    assert out["raw"] == "[3 bytes]"
    assert out["nan"] == "nan" and out["inf"] == "inf"
    assert out["tags"] == ["a", "b"]
    assert out["tuple"] == [1, 2]
    assert out["weird"].startswith("[unprintable")
    assert out["1"] == "int key" and out["(1, 2)"] == "tuple key"
    assert "[too deep]" in json.dumps(out["cyclic"]) and "[too deep]" in json.dumps(out["deep"])
    assert len(out["big"]) == 201 and "more items" in out["big"][-1]
    assert "\ud800" not in out["surrogate"]


@pytest.mark.parametrize("value", [None, "just a string", ["a", "list"], 42, b"bytes", math.pi])
def test_non_mapping_arguments_are_wrapped(value: object) -> None:
    out = redact(value)
    assert isinstance(out, dict)
    json.dumps(out, allow_nan=False)


def test_input_not_mutated() -> None:
    args = {"email": "a@b.c", "nested": {"phone": "1"}}
    redact(args)
    assert args == {"email": "a@b.c", "nested": {"phone": "1"}}


def test_redact_text() -> None:
    assert redact_text(f"401 for {SECRET}", secrets=[SECRET]) == f"401 for {REDACTED}"


def test_the_stores_scrubber_remembers_short_values_without_letting_a_secret_through(monkeypatch) -> None:
    """Short values repeat from record to record and are scanned once; the memory is bounded (a hostile
    agent can invent endless values) and never holds a value that had a secret in it."""
    monkeypatch.setattr(redact_module, "CACHED_ENTRIES", 8)
    secret = "omcp_live_Zx81KqP0aa77Lm2Q"
    scrub = make_scrubber([secret])
    record = {"agent": "people-ops", "note": f"token {secret}", "tool": "remote_get_employment"}
    first, second = scrub(record), scrub(dict(record))
    assert first == second == {"agent": "people-ops", "note": "token [redacted]", "tool": "remote_get_employment"}
    for i in range(100):
        assert scrub({"v": f"value {i} {secret}"}) == {"v": f"value {i} [redacted]"}
    remembered = [cell.cell_contents for cell in scrub.__closure__ or ()
                  if isinstance(cell.cell_contents, dict)]
    assert remembered and all(len(memory) <= 8 for memory in remembered)
    assert not any(secret in text for memory in remembered for pair in memory.items() for text in pair)
    long = "x" * (redact_module.CACHED_TEXT + 1) + secret
    assert scrub({"v": long}) == {"v": "x" * (redact_module.CACHED_TEXT + 1) + "[redacted]"}
