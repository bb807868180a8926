"""Turn the CLI's ``--since`` / ``--until`` text into a unix timestamp."""

from __future__ import annotations

import re
import time
from datetime import datetime

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_since(text: str, now: float | None = None) -> float:
    """``"15m"``, ``"2h"``, ``"3d"``, ``"1w"`` ago, or an ISO date/time, as unix seconds.

    A date or time without an offset is local time, because that is what a person typing
    ``--since 2026-05-01`` at a terminal means; ``Z`` or ``+02:00`` are honoured.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected a duration like 15m, 2h, 3d or an ISO date/time like 2026-05-01T09:00")
    m = _RELATIVE.match(text)
    if m:
        base = time.time() if now is None else now
        return base - float(m.group(1)) * _UNITS[m.group(2).lower()]
    try:
        # Python 3.11 parses dates, "T" or space separators, fractions, "Z" and offsets.
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        pass
    raise ValueError(
        f"cannot read {text!r} as a time: use a duration like 15m, 2h, 3d "
        "or an ISO date/time like 2026-05-01 or 2026-05-01T09:00Z"
    )
