"""Value classes for what loads at start-up and on the first call: what a dataclass gives, without its cost.

On CPython 3.11 ``@dataclass`` compiles each generated method from source when the class is defined:
~0.25 ms per class, ~0.5 ms frozen (six methods), measured on the 2-core benchmark host. The 53 dataclasses
that ``serve`` and its first call used to define cost ~30 ms there — a third of the start-up budget
(benchmarks/RESULTS.md figure 1). A class written out here is compiled once into the ``.pyc`` and costs
~0.01 ms to define. So classes on that path derive from ``Record`` (mutable) or ``Frozen`` and write their
``__init__``; the rest of the code base keeps ``@dataclass``. ``tests/server/test_startup_imports.py`` checks
that the path defines no dataclass.

Each class lists its fields in ``__slots__``, annotated in the class body for the type checker, in the
order a dataclass would take them; equality, hashing (``Frozen``) and ``repr`` follow those fields, as a
dataclass's do. What a dataclass says with ``field(repr=False)`` a class says in ``_unshown`` (secrets, locks),
and ``field(compare=False)`` in ``_uncompared``.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """Fields in ``__slots__`` (inherited ones first); ``==`` and ``repr`` over them, like a dataclass."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _unshown: ClassVar[frozenset[str]] = frozenset()  # fields ``repr`` leaves out
    _uncompared: ClassVar[frozenset[str]] = frozenset()  # fields ``==`` and ``hash`` leave out
    _shown: ClassVar[tuple[str, ...]] = ()
    _compared: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__slots__", ())
        own = (own,) if isinstance(own, str) else own
        # "__weakref__" in __slots__ lets instances be weakly referenced; it is not a field.
        cls._fields = (*cls._fields, *(name for name in own if name != "__weakref__"))
        cls._shown = tuple(name for name in cls._fields if name not in cls._unshown)
        cls._compared = tuple(name for name in cls._fields if name not in cls._uncompared)
        type.__setattr__(cls, "__match_args__", cls._fields)  # ``case Done(answer)``, as a dataclass allows

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def _compared_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._compared)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared_values() == other._compared_values()

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as a dataclass with eq is

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{self.__class__.__qualname__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:  # copy, deepcopy and pickle, past a frozen ``__setattr__``
        return _restore, (self.__class__, self._values())

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` (``dataclasses.replace``); an unknown name is refused."""
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise TypeError(f"{self.__class__.__name__} has no field(s) {', '.join(sorted(unknown))}")
        return _restore(self.__class__, tuple(changes.get(name, getattr(self, name)) for name in self._fields))


class Frozen(Record):
    """Immutable after ``__init__`` (which sets fields with ``set_fields``); hashable over its fields."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.__class__.__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.__class__.__name__} is immutable: cannot delete {name!r}")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._compared_values())


def set_fields(instance: Frozen, **values: Any) -> None:
    """``__init__`` of a ``Frozen`` class: set each field once (``object.__setattr__``, as a frozen dataclass does)."""
    for name, value in values.items():
        object.__setattr__(instance, name, value)


def _restore(cls: type[R], values: tuple[Any, ...]) -> R:
    instance = object.__new__(cls)
    for name, value in zip(cls._fields, values, strict=True):
        object.__setattr__(instance, name, value)
    return instance
