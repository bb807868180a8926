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

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
MAX_STRING = 500
MAX_DEPTH = 12
MAX_ITEMS = 200
# A string longer than this is a "large value": the record keeps a short preview, its size and its
# SHA-256 (enough to tell whether a copy elsewhere is the same), never the value.
LARGE_VALUE = 4096
# The store's scrubber remembers the scrubbed form of keys and of values up to this long, this many of each.
CACHED_TEXT = 80
CACHED_ENTRIES = 4096
PREVIEW = 64
# Characters of argument text one record keeps, whatever the call sent: a 4 MB call must not make a
# 6 MB row. What does not fit is counted and hashed, not stored.
ARGUMENT_BUDGET = 8_192
# The store's last net over a whole record (arguments, error, sentence, ids) is looser.
RECORD_BUDGET = 65_536
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

# Credential shapes that are secrets whatever key they sit under. Configured secrets are the main net;
# these catch a credential pasted by an agent into free text. They are ops-mcp's own shapes and
# generic ones; each back end's token prefixes come from its catalogue profile (``profile_patterns``).
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}",
    # ops-mcp's agent tokens (transports/agent_auth.py TOKEN_PREFIX).
    r"\bomcp_[A-Za-z0-9_-]{8,}",
    # Standard Webhooks signing secrets.
    r"\bwhsec_[A-Za-z0-9+/=_-]{8,}",
    # Live/test API keys in the Stripe style, whatever the back end's prefix (ra_live_…, rops_test_…):
    # random, so they hold a digit; "unit_test_results" does not look like one.
    r"\b[a-z]{2,8}_(?:live|test)_(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{8,}",
    # JWTs (OAuth access and id tokens).
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    # A token quoted as a form or JSON field ("refresh_token=…", '"client_secret": "…"').
    r"(?i:\b(?:refresh|access|id)_token|\bclient_secret|\bsigning_key|\bapi_key)[\"']?\s*[:=]\s*[\"']?[^\s\"'&,;]{8,}",
)


def profile_patterns(prefixes: Iterable[str]) -> tuple[str, ...]:
    """Patterns for tokens that start with one of ``prefixes`` (the back ends' profile data)."""
    return tuple(
        f"\\b{re.escape(p)}[A-Za-z0-9_-]{{8,}}" for p in sorted(set(prefixes)) if isinstance(p, str) and p
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
        budget: int = ARGUMENT_BUDGET,
    ) -> None:
        self.max_string = max_string
        self.budget = budget
        self.spent = 0
        self.cut = False  # something did not fit the budget
        # Built once by a long-lived caller (``Redaction``): this runs for every record and every argument set.
        self.fields = fields if isinstance(fields, frozenset) else frozenset(f for f in fields if isinstance(f, str))
        # Longest first, so a secret that contains another one is removed whole.
        self.secrets = sorted(
            {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True
        )
        self.pattern = _combined(tuple(patterns))
        # Keys repeat from record to record ("agent", "employment_id"…); a long-lived redactor
        # (the store's) remembers their scrubbed form instead of re-scanning them every time.
        self._keys: dict[str, str] = {}
        # The store's also remembers short values, which repeat just as much (agent, tenant, tool and
        # their titles, area, transport…): scanning each for secrets was a third of a record's cost.
        self._texts: dict[str, str] | None = None  # value -> itself: values found clean

    def scrub(self, value: str) -> str:
        """Known secrets and credential shapes cut out of ``value`` (no length cap)."""
        if not value.isascii():
            value = _valid_utf8(value)
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if self.pattern is not None:
            value = self.pattern.sub(REDACTED, value)
        return value

    def text(self, value: str) -> str:
        texts = self._texts
        if texts is None or len(value) > CACHED_TEXT:
            return self._text(value)
        if value in texts:
            return self._spend(value)
        scrubbed = self._text(value)
        if scrubbed == value:  # only clean values are remembered: the memory never holds a secret
            if len(texts) >= CACHED_ENTRIES:
                texts.clear()  # bounded: hostile input could invent endless values
            texts[value] = value
        return scrubbed

    def _text(self, value: str) -> str:
        if len(value) > LARGE_VALUE:
            return self._spend(large_value(value, self.scrub))
        value = self.scrub(value)
        # Secrets first, then truncation: cutting first could leave half a secret behind.
        if len(value) > self.max_string:
            value = f"{value[: self.max_string]}…[truncated, {len(value)} chars]"
        return self._spend(value)

    def _spend(self, value: str) -> str:
        self.spent += len(value)
        return value

    def full(self) -> bool:
        return self.spent >= self.budget

    def key(self, key: Any) -> str:
        if not isinstance(key, str):
            return self.text(_safe_str(key))
        cached = self._keys.get(key)
        if cached is None:
            if len(self._keys) >= CACHED_ENTRIES:
                self._keys.clear()  # bounded: hostile input could invent endless keys
            cached = self._keys[key] = self.text(key)
        else:
            self.spent += len(cached)
        return cached

    def value(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool | int):
            self.spent += 4
            return value if not isinstance(value, int) or abs(value) < 10**300 else "[huge number]"
        if isinstance(value, float):
            self.spent += 8
            # NaN/inf are not JSON; the store's canonical JSON would refuse them.
            return value if math.isfinite(value) else str(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray | memoryview):
            # Binary is document content by nature; record only its size.
            return self._spend(f"[{len(value)} bytes]")
        if depth >= MAX_DEPTH:
            return self._spend("[too deep]")
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
            if i >= MAX_ITEMS or self.full():
                self.cut = self.cut or self.full()
                out["…"] = f"{len(items) - i} more keys"
                break
            key = self.key(k)
            raw_key = k if isinstance(k, str) else key
            # None carries no personal data, and showing it tells a reader the field was cleared.
            if v is not None and self.fields and _key_matches(raw_key, self.fields):
                out[key] = self._spend(REDACTED)
            else:
                out[key] = self.value(v, depth)
        return out

    def sequence(self, data: Any, depth: int) -> list[Any]:
        items = list(data)
        if isinstance(data, set | frozenset):
            # Sets have no order; sort their rendering so the hashed record is deterministic.
            items.sort(key=_safe_str)
        out = []
        for i, v in enumerate(items[:MAX_ITEMS]):
            if self.full():
                self.cut = True
                out.append(f"[… {len(items) - i} more items]")
                return out
            out.append(self.value(v, depth))
        if len(items) > MAX_ITEMS:
            out.append(f"[… {len(items) - MAX_ITEMS} more items]")
        return out


def large_value(value: str, scrub: Callable[[str], str] = lambda s: s) -> str:
    """A long text as a short preview, its size and its SHA-256: what a record keeps of it."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    # Scrub a generous head before cutting it, so no credential that starts in the preview survives in part.
    preview = _valid_utf8(scrub(value[: PREVIEW * 4]))[:PREVIEW]
    return f"{preview}…[large value, {len(value)} chars, sha256:{digest}]"


def _fingerprint(value: Any) -> dict[str, Any] | None:
    """Size and SHA-256 of the whole raw ``value`` as JSON, or None when it cannot be encoded."""
    try:
        raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_safe_str).encode(
            "utf-8", "surrogatepass"
        )
    except (ValueError, TypeError, RecursionError):
        return None
    return {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


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
    """Return a redacted, bounded copy of ``arguments``, safe to store and JSON-encode.

    Non-mapping input (a malformed call may send a list or a string) is wrapped as
    ``{"_arguments": ...}`` so that the caller always gets a dict back. When the arguments did not fit
    the record's budget, ``"_omitted"`` holds the size and SHA-256 of all of them.
    """
    try:
        r = _Redactor(fields, secrets, patterns)
        if arguments is None:
            return {}
        out = (
            r.mapping(arguments, 1)
            if isinstance(arguments, Mapping)
            else {"_arguments": r.value(arguments, 1)}
        )
        if r.cut:
            out["_omitted"] = _fingerprint(arguments) or "arguments too large to keep"
        return out
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
    SQLite-safe, and bounds it. Unlike :func:`redact` it redacts no field by name, because the
    record's own fields (agent, tool…) are not personal data.
    """
    secrets, patterns = tuple(secrets), tuple(patterns)
    keys: dict[str, str] = {}
    texts: dict[str, str] = {}

    def scrub(value: Any) -> Any:
        # A looser length cap than redact(): already-redacted arguments (≤ 500 chars + marker) must
        # pass through unchanged, while a runaway error message still gets bounded. A fresh budget per
        # record, the scrubbed keys shared between records.
        r = _Redactor((), secrets, patterns, max_string=4 * MAX_STRING, budget=RECORD_BUDGET)
        r._keys, r._texts = keys, texts
        # Start one level up: the record wraps the arguments, which redact() already capped in depth.
        return r.value(value, -1)

    return scrub


class Redaction:
    """The redaction rules of one deployment (field names, the credentials it holds, the credential
    shapes of its back ends), applied the same way everywhere a text is stored or shown.

    ``held``: credentials the deployment learns while it runs (webhook signing secrets registered after
    start), read each time; it must be cheap and must not raise.
    """

    def __init__(
        self,
        fields: Iterable[str] = DEFAULT_REDACTED_FIELDS,
        secrets: Iterable[str] = (),
        patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self.fields = frozenset(f for f in fields if isinstance(f, str))
        self.secrets = tuple(secrets)
        self.patterns = tuple(dict.fromkeys(patterns))
        self._held = held

    def protect(self, secrets: Iterable[str]) -> None:
        """Also cut these credentials (learned after start, e.g. a webhook signing secret) from now on."""
        self.secrets = tuple(dict.fromkeys([*self.secrets, *(s for s in secrets if isinstance(s, str))]))

    def all_secrets(self) -> tuple[str, ...]:
        if self._held is None:
            return self.secrets
        try:
            return (*self.secrets, *self._held())
        except Exception:  # a broken source must not stop redaction with what is known
            return self.secrets

    def arguments(self, arguments: Any) -> dict[str, Any]:
        return redact(arguments, fields=self.fields, secrets=self.all_secrets(), patterns=self.patterns)

    def text(self, text: str, arguments: Any = None) -> str:
        """``text`` (an error, a sentence) without secrets, and — given the call's raw ``arguments`` —
        without the values of the fields redaction hides, wherever the text quotes them."""
        if arguments is not None:
            text = hide_values(text, sensitive_values(arguments, self.fields))
        return redact_text(text, secrets=self.all_secrets(), patterns=self.patterns)


MIN_QUOTED = 6  # a hidden value this long is cut wherever it appears, even cut short ("'bob@exa…")


def sensitive_values(arguments: Any, fields: Iterable[str]) -> list[tuple[str, str]]:
    """(path, text) of every scalar under a key the field rules redact, as ``a.b.0`` paths."""
    field_set = frozenset(f for f in fields if isinstance(f, str))
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any, bool, int]] = [("", arguments, False, 0)]
    while stack and len(found) < 1000:
        path, value, hidden, depth = stack.pop()
        if isinstance(value, Mapping) and depth < MAX_DEPTH:
            for key, sub in list(value.items())[:MAX_ITEMS]:
                name = f"{path}.{key}" if path else str(key)
                covered = hidden or (
                    isinstance(key, str) and bool(field_set) and _key_matches(key, field_set)
                )
                stack.append((name, sub, covered, depth + 1))
        elif isinstance(value, list | tuple) and depth < MAX_DEPTH:
            stack.extend(
                (f"{path}.{i}" if path else str(i), sub, hidden, depth + 1)
                for i, sub in enumerate(value[:MAX_ITEMS])
            )
        elif hidden and value is not None and not isinstance(value, bool):
            found.append((path, value if isinstance(value, str) else _safe_str(value)))
    return found


def hide_values(text: str, values: list[tuple[str, str]]) -> str:
    """Cut each hidden value out of ``text``: anywhere when it is long enough to be recognised (also
    its quoted form, and a form cut short by "…"), right after its own ``path: `` when it is short."""
    for path, value in sorted(values, key=lambda pv: len(pv[1]), reverse=True):
        if not value:
            continue
        for form in dict.fromkeys((repr(value), value, json.dumps(value))):
            if len(value) >= MIN_QUOTED:
                text = _prefixes(form[:200]).sub(REDACTED, text)
            else:
                text = text.replace(f"{path}: {form}", f"{path}: {REDACTED}")
    return text


@lru_cache(maxsize=256)
def _prefixes(form: str) -> re.Pattern[str]:
    """Matches ``form`` or its longest prefix of at least ``MIN_QUOTED`` characters present."""
    head, rest = form[:MIN_QUOTED], form[MIN_QUOTED:]
    pattern = re.escape(head) + "".join(f"(?:{re.escape(c)}" for c in rest) + ")?" * len(rest)
    return re.compile(pattern)
