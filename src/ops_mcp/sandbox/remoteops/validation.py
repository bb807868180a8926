"""Request-body checks that collect every problem as `errors[]{pointer,code,detail}`.

Handlers read fields through a `Body`, then call `done()`: one 422 lists all errors at once,
which is what lets an agent fix a request in one go.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from ops_mcp.sandbox.remoteops.problems import validation_failed
from ops_mcp.sandbox.remoteops.values import parse_date, parse_datetime

_MISSING = object()


class Body:
    def __init__(self, data: Any, pointer: str = "", errors: list[dict[str, str]] | None = None) -> None:
        self.pointer = pointer
        self.errors: list[dict[str, str]] = [] if errors is None else errors
        if data is None and not pointer:
            data = {}
        if not isinstance(data, dict):
            self.error("", "type", "must be a JSON object")
            data = {}
        self.data: dict[str, Any] = data

    # -- bookkeeping -------------------------------------------------------------------------
    def error(self, name: str, code: str, detail: str) -> None:
        pointer = f"{self.pointer}/{name}" if name else self.pointer
        self.errors.append({"pointer": pointer, "code": code, "detail": detail})

    def done(self) -> None:
        if self.errors:
            raise validation_failed(self.errors)

    def has(self, name: str) -> bool:
        return name in self.data

    def only(self, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for name in self.data:
            if name not in allowed:
                self.error(name, "unknown-field", f"'{name}' is not a field of this request")

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.error(name, "required", "is required")
            return _MISSING
        return value

    # -- typed readers -----------------------------------------------------------------------
    def str(self, name: str, *, required: bool = False, enum: Iterable[str] | None = None,
            max_len: int = 2000, min_len: int = 0, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.error(name, "type", "must be a string")
            return default
        if enum is not None and value not in set(enum):
            self.error(name, "enum", f"must be one of: {', '.join(enum)}")
            return default
        if len(value) > max_len or len(value) < max(min_len, 1 if required else 0):
            self.error(name, "length", f"must be {max(min_len, 1 if required else 0)}–{max_len} characters")
            return default
        return value

    # The readers below are named after the JSON types they read, so inside the class `str`, `int` and `bool`
    # are those methods: annotations name the built-in types explicitly.
    def int(self, name: builtins.str, *, required: builtins.bool = False, minimum: builtins.int | None = None,
            maximum: builtins.int | None = None, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(name, "type", "must be an integer")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(name, "range", f"must be between {minimum} and {maximum}")
            return default
        return value

    def number(self, name: builtins.str, *, required: builtins.bool = False, minimum: float | None = None,
               exclusive_minimum: float | None = None, maximum: float | None = None, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(name, "type", "must be a number")
            return default
        if ((minimum is not None and value < minimum) or (maximum is not None and value > maximum)
                or (exclusive_minimum is not None and value <= exclusive_minimum)):
            low = minimum if minimum is not None else f"more than {exclusive_minimum}"
            self.error(name, "range", f"must be between {low} and {maximum}")
            return default
        return value

    def bool(self, name: builtins.str, *, required: builtins.bool = False, default: Any = None) -> Any:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(name, "type", "must be a boolean")
            return default
        return value

    def datetime(self, name: builtins.str, *, required: builtins.bool = False) -> datetime | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        try:
            return parse_datetime(value)
        except (TypeError, ValueError):
            self.error(name, "format", "must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z")
            return None

    def date(self, name: builtins.str, *, required: builtins.bool = False) -> date | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        try:
            return parse_date(value)
        except (TypeError, ValueError):
            self.error(name, "format", "must be a date YYYY-MM-DD")
            return None

    def str_list(self, name: builtins.str, *, required: builtins.bool = False, min_items: builtins.int = 0,
                 max_items: builtins.int = 100, enum: Iterable[builtins.str] | None = None) -> list[builtins.str] | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.error(name, "type", "must be an array of strings")
            return None
        if not min_items <= len(value) <= max_items:
            self.error(name, "length", f"must have {min_items}–{max_items} items")
            return None
        if enum is not None:
            allowed = set(enum)
            for i, item in enumerate(value):
                if item not in allowed:
                    self.error(f"{name}/{i}", "enum", f"must be one of: {', '.join(sorted(allowed))}")
        return value

    def obj(self, name: builtins.str, *, required: builtins.bool = False) -> Body | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.error(name, "type", "must be an object")
            return None
        return Body(value, f"{self.pointer}/{name}", self.errors)

    def obj_list(self, name: builtins.str, *, required: builtins.bool = False, min_items: builtins.int = 0,
                 max_items: builtins.int = 100) -> list[Body] | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or not min_items <= len(value) <= max_items:
            self.error(name, "type", f"must be an array of {min_items}–{max_items} objects")
            return None
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.error(f"{name}/{i}", "type", "must be an object")
                continue
            items.append(Body(item, f"{self.pointer}/{name}/{i}", self.errors))
        return items

    def raw(self, name: builtins.str) -> Any:
        return self.data.get(name)
