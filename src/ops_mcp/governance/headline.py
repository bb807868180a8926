"""The headline of a confirmation: one sentence a person can judge at a glance.

"Approve 3 days of time off (2–4 Dec) for Ana Silva, Acme GmbH?" The verb and noun come from the tool's
title, names from the records the lookups found, dates and money from the arguments. The headline is a
summary; every field the write sets is listed in full by ``changes.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..catalogue.models import Endpoint

# Fields that name a record, best first.
LABEL_KEYS = ("full_name", "name", "display_name", "number", "title", "summary", "email", "url", "sku")
# References worth naming, with the preposition that reads well in a sentence.
REFERENCE_WORDS = (
    ("employment", "for"),
    ("customer", "for"),
    ("site", "at"),
    ("work_order", "on"),
    ("asset", "on"),
    ("invoice", "on"),
    ("contract", "under"),
    ("technician", "by"),
)
_SKIP_DETAILS = {
    "body",
    "fields",
    "max_items",
    "metadata",
    "timezone",
    "approved_at",
    "approver_id",
    "status",
}
_CURRENCY = {"EUR": "€", "GBP": "£", "USD": "$"}


def action_phrase(
    endpoint: Endpoint, facts: dict[str, Any], target: dict[str, Any] | None, target_id: str | None
) -> str:
    verb, _, noun = endpoint.title.partition(" ")
    noun = " ".join(w if w.isupper() else w.lower() for w in noun.split())
    days = day_count(facts)
    if days:
        noun = f"{days} day{'s' if days != 1 else ''} of {noun}"
    name = label(target) if target else None
    phrase = f"{verb} {noun}".strip()
    if name:
        phrase += f" “{name}”" if " " in name and not looks_like_person(target) else f" {name}"
    elif target is None and target_id:
        phrase += f" {target_id}"  # the lookup failed or is not allowed: the id is all we can show
    target_status = facts.get("to")
    if isinstance(target_status, str) and target_status:
        phrase += (
            f" to {clip(target_status.replace('_', ' '), 30)}"  # "Transition work order WO-1 to completed"
        )
    when = date_range(facts)
    if when:
        phrase += f" ({when})"
    amount = money(facts)
    if amount:
        phrase += f" of {amount}"
    return phrase


def details(arguments: dict[str, Any], private: frozenset[str] = frozenset()) -> str:
    """A few scalar arguments a person would want to see (e.g. ``to: completed``), never ids, nor the
    ``private`` ones the audit redacts (the headline also reaches the agent, the log and the audit; the
    field rows below it show them to the person)."""
    shown: list[str] = []
    for key, value in flatten_body(arguments).items():
        if key in _SKIP_DETAILS or key in private or key.endswith(("_id", "_ids", "_date", "_days")) or key == "id":
            continue
        if key in ("amount", "currency", "start_date", "end_date", "to"):
            continue
        if isinstance(value, bool | int | float) or (isinstance(value, str) and value):
            if isinstance(value, bool):
                text = "yes" if value else "no"
            else:
                text = (
                    str(value).replace("_", " ") if isinstance(value, str) and key in _ENUMISH else str(value)
                )
            shown.append(f"{key.replace('_', ' ')}: {clip(text)}")
        if len(shown) == 3:
            break
    return "; ".join(shown)


_ENUMISH = {
    "to",
    "timeoff_type",
    "reason_code",
    "kind",
    "type",
    "work_type",
    "priority",
    "condition",
    "method",
    "reason",
}


def flatten_body(arguments: dict[str, Any]) -> dict[str, Any]:
    body = arguments.get("body")
    merged = {k: v for k, v in arguments.items() if k != "body"}
    if isinstance(body, dict):
        merged = {**body, **merged}
    return merged


def label(record: dict[str, Any] | None, limit: int | None = 60) -> str | None:
    """The name of a record (``None`` for no cut)."""
    if not record:
        return None
    for key in LABEL_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return clip(value.strip(), limit)
    basic = record.get("basic_information")
    if isinstance(basic, dict) and isinstance(basic.get("name"), str):
        return clip(basic["name"], limit)
    # Equipment has no name: "Otis Gen2 (OT-625726)".
    model = " ".join(str(record[k]) for k in ("manufacturer", "model") if isinstance(record.get(k), str))
    if model:
        serial = record.get("serial_number")
        return clip(f"{model} ({serial})" if isinstance(serial, str) else model, limit)
    return None


def looks_like_person(record: dict[str, Any] | None) -> bool:
    return bool(record) and "full_name" in record  # type: ignore[operator]


def day_count(facts: dict[str, Any]) -> int | None:
    for key, value in facts.items():
        if key.endswith("_days") and isinstance(value, list) and value:
            return len(value)
    return None


def date_range(facts: dict[str, Any]) -> str | None:
    start = as_date(facts.get("start_date") or facts.get("scheduled_start"))
    end = as_date(facts.get("end_date") or facts.get("scheduled_end"))
    if start is None:
        return None
    if end is None or end == start:
        return day(start, with_month=True)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{day(end, with_month=True)}"
    return f"{day(start, with_month=True)} – {day(end, with_month=True)}"


def day(value: date, *, with_month: bool) -> str:
    return f"{value.day} {value.strftime('%b')}" if with_month else str(value.day)


def as_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def money(facts: dict[str, Any]) -> str | None:
    amount, currency = facts.get("amount", facts.get("total")), facts.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    major = f"{amount / 100:,.2f}"  # both back ends count money in minor units (cents)
    symbol = _CURRENCY.get(currency.upper())
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"




def clip(text: str, limit: int | None = 60) -> str:
    """A headline piece: one line, at most ``limit`` characters, "…" where it was cut (the full value
    is in the field list below the headline)."""
    text = " ".join(text.split())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
