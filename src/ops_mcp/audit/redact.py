"""Redaction of tool arguments before they reach the audit log.

Two independent nets:

* by key name — personal and secret fields (``work_email``, ``iban``, ``salary``…) have their
  value replaced, whatever its type;
* by value — any known secret (upstream tokens, client secrets) found *inside* any string is cut
  out, wherever it hides (a free-text note, a URL, a key name).

The function must never raise: it runs on the audit path of every call, including calls whose
arguments were rejected as malformed, and a crash there would lose the record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
MAX_STRING = 500
MAX_DEPTH = 12
MAX_ITEMS = 200
# Secrets shorter than this are ignored: replacing "ab" everywhere would shred the record while
# protecting nothing real (no upstream credential is that short).
MIN_SECRET_LEN = 4

# Key-name patterns, compared after lower-casing and dropping separators ("workEmail",
# "work_email" and "work-email" all become "workemail"). Patterns of 4+ characters match as a
# substring; shorter ones (ssn, dob, tin…) only as a whole word of the key, because as substrings
# they would hit innocent names ("setting", "routing").
DEFAULT_REDACTED_FIELDS: frozenset[str] = frozenset(
    {
        # contact details
        "email", "phone", "mobile", "telephone", "fax",
        # addresses
        "address", "street", "postal_code", "postcode", "zip", "zip_code",
        # bank details
        "bank", "iban", "bic", "swift", "account_number", "routing_number", "sort_code", "card_number",
        "cvv",
        # pay (HR)
        "salary", "compensation", "amount", "pay_rate", "hourly_rate", "gross", "net_pay", "wage",
        "bonus",
        # identity documents
        "tax_id", "taxid", "tax_number", "tax_identification", "tin", "national_id", "ssn",
        "social_security", "passport", "id_number", "identification_number",
        "birth", "dob",
        # file and document content
        "content_base64", "base64", "file_content", "document_content", "blob",
        # credentials
        "token", "secret", "password", "passwd", "api_key", "apikey", "authorization", "auth_header",
        "cookie", "credential", "private_key", "client_secret", "bearer",
    }
)  # fmt: skip

# Token shapes that are secrets whatever key they sit under. Configured secrets are the main net;
# these catch a credential pasted by an agent into free text.
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}",
    r"\bra_(?:live|test)_[A-Za-z0-9_-]{8,}",
)

_SURROGATE = re.compile("[\ud800-\udfff]")
_SEP = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _squash(name: str) -> str:
    return _SEP.sub("", name.lower())


def _words(name: str) -> tuple[str, ...]:
    return tuple(w for w in _SEP.split(_CAMEL.sub("_", name).lower()) if w)


@lru_cache(maxsize=32)
def _field_matcher(fields: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    long = tuple(sorted({_squash(f) for f in fields if len(_squash(f)) >= 4}))
    short = tuple(sorted({_squash(f) for f in fields if 0 < len(_squash(f)) < 4}))
    return long, short


@lru_cache(maxsize=4096)
def _key_matches(key: str, fields: frozenset[str]) -> bool:
    long, short = _field_matcher(fields)
    squashed = _squash(key)
    if any(p in squashed for p in long):
        return True
    return bool(short) and any(w in short for w in _words(key))


@lru_cache(maxsize=16)
def _combined(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    # One alternation instead of a pass per pattern: this runs on every string of every record.
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


class _Redactor:
    def __init__(
        self,
        fields: Iterable[str],
        secrets: Iterable[str],
        patterns: Iterable[str],
        max_string: int = MAX_STRING,
    ) -> None:
        self.max_string = max_string
        self.fields = frozenset(f for f in fields if isinstance(f, str))
        # Longest first, so a secret that contains another one is removed whole.
        self.secrets = sorted(
            {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True
        )
        self.pattern = _combined(tuple(patterns))
        # Keys repeat from record to record ("agent", "employment_id"…); a long-lived redactor
        # (the store's) remembers their scrubbed form instead of re-scanning them every time.
        self._keys: dict[str, str] = {}

    def text(self, value: str) -> str:
        if not value.isascii():
            value = _valid_utf8(value)
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if self.pattern is not None:
            value = self.pattern.sub(REDACTED, value)
        # Secrets first, then truncation: cutting first could leave half a secret behind.
        if len(value) > self.max_string:
            value = f"{value[: self.max_string]}…[truncated, {len(value)} chars]"
        return value

    def key(self, key: Any) -> str:
        if not isinstance(key, str):
            return self.text(_safe_str(key))
        cached = self._keys.get(key)
        if cached is None:
            if len(self._keys) >= 4096:
                self._keys.clear()  # bounded: hostile input could invent endless keys
            cached = self._keys[key] = self.text(key)
        return cached

    def value(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            # NaN/inf are not JSON; the store's canonical JSON would refuse them.
            return value if math.isfinite(value) else str(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray | memoryview):
            # Binary is document content by nature; record only its size.
            return f"[{len(value)} bytes]"
        if depth >= MAX_DEPTH:
            return "[too deep]"
        if isinstance(value, Mapping):
            return self.mapping(value, depth + 1)
        if isinstance(value, list | tuple | set | frozenset):
            return self.sequence(value, depth + 1)
        return self.text(_safe_str(value))

    def mapping(self, data: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            items = list(data.items())
        except Exception:
            return {"_unreadable": True}
        for i, (k, v) in enumerate(items):
            if i >= MAX_ITEMS:
                out["…"] = f"{len(items) - MAX_ITEMS} more keys"
                break
            key = self.key(k)
            raw_key = k if isinstance(k, str) else key
            # None carries no personal data, and showing it tells a reader the field was cleared.
            if v is not None and self.fields and _key_matches(raw_key, self.fields):
                out[key] = REDACTED
            else:
                out[key] = self.value(v, depth)
        return out

    def sequence(self, data: Any, depth: int) -> list[Any]:
        items = list(data)
        if isinstance(data, set | frozenset):
            # Sets have no order; sort their rendering so the hashed record is deterministic.
            items.sort(key=_safe_str)
        out = [self.value(v, depth) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            out.append(f"[… {len(items) - MAX_ITEMS} more items]")
        return out


def _valid_utf8(value: str) -> str:
    # Lone surrogates ("\ud800") are legal in a Python str but cannot be encoded to UTF-8, which
    # SQLite requires; replace them rather than let the insert fail and the record be lost.
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"[unprintable {type(value).__name__}]"


def redact(
    arguments: Any,
    fields: Iterable[str] = DEFAULT_REDACTED_FIELDS,
    secrets: Iterable[str] = (),
    patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS,
) -> dict[str, Any]:
    """Return a redacted copy of ``arguments``, safe to store and JSON-encode.

    Non-mapping input (a malformed call may send a list or a string) is wrapped as
    ``{"_arguments": ...}`` so that the caller always gets a dict back.
    """
    try:
        r = _Redactor(fields, secrets, patterns)
        if arguments is None:
            return {}
        if isinstance(arguments, Mapping):
            return r.mapping(arguments, 1)
        return {"_arguments": r.value(arguments, 1)}
    except Exception as exc:  # pragma: no cover - last resort, the audit record matters more
        return {"_unredactable": type(exc).__name__}


def redact_text(
    text: str, secrets: Iterable[str] = (), patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS
) -> str:
    """Scrub secrets from one string (an error message, a sentence) and cap its length."""
    return _Redactor((), secrets, patterns).text(text)


def make_scrubber(
    secrets: Iterable[str] = (), patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS
) -> Callable[[Any], Any]:
    """A function removing secrets from every string of a JSON-like structure.

    Used by the store as a last net over whole records: it also makes any value JSON- and
    SQLite-safe. Unlike :func:`redact` it redacts no field by name, because the record's own
    fields (agent, tool…) are not personal data.
    """
    # A looser length cap than redact(): already-redacted arguments (≤ 500 chars + marker) must
    # pass through unchanged, while a runaway error message still gets bounded.
    r = _Redactor((), secrets, patterns, max_string=4 * MAX_STRING)
    # Start one level up: the record wraps the arguments, which redact() already capped in depth.
    return lambda value: r.value(value, -1)


class Redaction:
    """The redaction rules of one deployment (field names + the credentials it holds), applied the same
    way everywhere a text is stored or shown."""

    def __init__(self, fields: Iterable[str] = DEFAULT_REDACTED_FIELDS, secrets: Iterable[str] = ()) -> None:
        self.fields = tuple(fields)
        self.secrets = tuple(secrets)

    def arguments(self, arguments: Any) -> dict[str, Any]:
        return redact(arguments, fields=self.fields, secrets=self.secrets)

    def text(self, text: str) -> str:
        return redact_text(text, secrets=self.secrets)
