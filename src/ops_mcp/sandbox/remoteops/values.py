"""Value formats of the API: prefixed ids, RFC 3339 UTC timestamps, ISO dates."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime

_ALPHABET = string.ascii_lowercase + string.digits


class IdFactory:
    """Prefixed ids (`wo_…`) from a seeded generator, so seeded data is reproducible."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def new(self, prefix: str) -> str:
        return f"{prefix}_" + "".join(self.rng.choices(_ALPHABET, k=16))


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str) -> datetime:
    """RFC 3339 with an offset or Z; raises ValueError otherwise."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError("expected an RFC 3339 date-time")
    parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("date-time needs a UTC offset or Z")
    return parsed.astimezone(UTC)


def parse_date(value: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("expected a date YYYY-MM-DD")
    return date.fromisoformat(value)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year = day.year + month0 // 12
    month = month0 % 12 + 1
    # Clamp to the month's last day (31 Jan + 1 month = 28/29 Feb).
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise ValueError("unreachable")
