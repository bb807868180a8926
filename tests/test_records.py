"""``records.Record``/``Frozen``: what a dataclass gave the start-up path's classes, kept."""

from __future__ import annotations

import copy
import pickle

import pytest

from ops_mcp.records import Frozen, Record, set_fields


class Secretive(Frozen):
    __slots__ = ("name", "token", "note")
    _unshown = frozenset({"token"})
    _uncompared = frozenset({"note"})
    name: str
    token: str
    note: str

    def __init__(self, name: str, token: str, note: str = "") -> None:
        set_fields(self, name=name, token=token, note=note)


class Counter(Record):
    __slots__ = ("count",)
    count: int

    def __init__(self, count: int = 0) -> None:
        self.count = count


def test_unshown_fields_stay_out_of_repr_and_uncompared_ones_out_of_equality() -> None:
    one = Secretive("acme", "ra_live_secret", note="first")
    assert repr(one) == "Secretive(name='acme', note='first')"
    same = Secretive("acme", "ra_live_secret", note="second")
    assert one == same and hash(one) == hash(same)
    assert one != Secretive("acme", "ra_live_other")


def test_copies_keep_every_field_and_frozen_refuses_changes() -> None:
    one = Secretive("acme", "ra_live_secret", note="n")
    for other in (copy.copy(one), copy.deepcopy(one), pickle.loads(pickle.dumps(one)), one.replace(note="n")):
        assert (other.name, other.token, other.note) == ("acme", "ra_live_secret", "n")
    with pytest.raises(AttributeError, match="immutable"):
        one.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="no field"):
        one.replace(nmae="x")
    counter = Counter()
    counter.count += 1
    assert counter == Counter(1) and repr(counter) == "Counter(count=1)"
    with pytest.raises(TypeError):
        hash(counter)
