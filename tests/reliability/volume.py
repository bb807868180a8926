"""How much of each reliability case a run does.

``make reliability-report`` (figures recorded, see ``recorder.py``) runs the volume the published figures
describe. ``make test`` runs a sample of the same cases: every tool, every category, every kind of attack,
with fewer drawn examples and repetitions of each.
"""

from __future__ import annotations

from .recorder import recording


def volume(published: int, sample: int) -> int:
    """``published`` when the figures are being recorded, else ``sample``."""
    return published if recording() else sample
