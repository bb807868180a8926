"""What a write changes, as data a person can read: one row per field, before → after.

A ``ChangeSummary`` is the headline sentence ("Update employment Greta García, Acme GmbH?") plus a row
for every field the write sets — ``{field, label, before, after}`` — so the CLI prints it, the console
renders it as a table and an elicitation prompt lists it. ``before`` is the current value where a read
could tell it, else None; ids are shown with the name a read resolved ("Hans Weber (id 7f3e…)").

Every text here may come from the agent (arguments, keys of free-form objects) or from records the
agent wrote earlier, so each is passed through ``text.neutralise`` when built and again when shown.
Nothing is cut silently: stored values are complete; a preview says how much it left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from ..records import Frozen, set_fields
from ..text import neutralise

NONE = "(none)"
EMPTY = "(empty)"
NOT_IN_WRITE = "(not in this write)"
UNKNOWN = object()  # a "before" no read could tell
MAX_DEPTH = 3  # nested objects are listed field by field down to this depth, then shown as JSON
MAX_ROWS = 200  # beyond this many rows, nested objects stay whole (one JSON row each): nothing is lost
# No person reads more than this of one value; past it the value says how much is left and its SHA-256,
# so a 4 MB argument cannot fill the approvals file or a prompt.
MAX_VALUE = 100_000


class FieldChange(Frozen):
    __slots__ = ("field", "label", "before", "after")
    field: str  # dotted path of the argument, e.g. "address_details.city"
    label: str  # what a person reads, e.g. "Address details › City"
    before: str | None  # the current value as shown, None when no read can tell
    after: str  # the value the write sets, as shown

    def __init__(self, field: str, label: str, before: str | None, after: str) -> None:
        set_fields(self, field=field, label=label, before=before, after=after)

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "label": self.label, "before": self.before, "after": self.after}

    def line(self, limit: int | None = None, more: str = "") -> str:
        after = preview(self.after, limit, more)
        if self.before is None:
            return f"{neutralise(self.label)}: {after}"
        if self.before == self.after:
            return f"{neutralise(self.label)}: {after} (unchanged)"
        return f"{neutralise(self.label)}: {preview(self.before, limit, more)} → {after}"


class ChangeSummary(Frozen):
    __slots__ = ("sentence", "changes", "title", "tenant", "target", "missing")
    _uncompared = frozenset({"missing"})
    sentence: str  # the headline question, one line
    changes: tuple[FieldChange, ...]
    title: str  # the tool's title, e.g. "Update Employment"
    tenant: str | None  # the tenant's label, e.g. "Acme GmbH"
    target: dict[str, str] | None  # {"field", "id", "label"} of the object the write acts on
    missing: tuple[str, ...]  # objects a read says do not exist; not compared (``as_dict`` leaves it out)

    def __init__(self, sentence: str, changes: tuple[FieldChange, ...] = (), title: str = "",
                 tenant: str | None = None, target: dict[str, str] | None = None,
                 missing: tuple[str, ...] = ()) -> None:
        set_fields(self, sentence=sentence, changes=changes, title=title, tenant=tenant, target=target,
                   missing=missing)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "title": self.title,
            "tenant": self.tenant,
            "target": self.target,
            "changes": [c.as_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChangeSummary:
        if not isinstance(data, dict):
            return cls(sentence="")
        listed = data.get("changes")
        rows: list[Any] = listed if isinstance(listed, list) else []
        changes = tuple(
            FieldChange(str(r.get("field", "")), str(r.get("label", "")),
                        None if r.get("before") is None else str(r["before"]), str(r.get("after", "")))
            for r in rows if isinstance(r, dict)
        )
        target = data.get("target") if isinstance(data.get("target"), dict) else None
        return cls(str(data.get("sentence", "")), changes, str(data.get("title") or ""), data.get("tenant"), target)

    def lines(self, limit: int | None = None, more: str = "") -> list[str]:
        return [c.line(limit, more) for c in self.changes]

    def target_line(self) -> str | None:
        """"Time off: Ana Silva (id 1b2c…)": the object the write acts on."""
        if not self.target or not self.target.get("id"):
            return None
        noun = self.target.get("noun") or "object"
        name = self.target.get("label")
        shown = f"{neutralise(name)} (id {neutralise(self.target['id'])})" if name else neutralise(self.target["id"])
        return f"{neutralise(noun[:1].upper() + noun[1:])}: {shown}"

    def text(self, limit: int | None = None, more: str = "") -> str:
        """The headline, the target, then one line per field ("• Manager: Hans Weber → Jane Roe")."""
        target = self.target_line()
        rows = [f"• {line}" for line in ([target] if target else []) + self.lines(limit, more)]
        return "\n".join([neutralise(self.sentence), *rows])


def preview(value: str, limit: int | None, more: str = "") -> str:
    """``value`` shown in at most ``limit`` characters, saying what it left out (never silently)."""
    shown = neutralise(value)
    if limit is None or len(shown) <= limit:
        return shown
    rest = len(shown) - limit
    return f"{shown[:limit]}… [+{rest} characters{more}]"


def show(value: Any) -> str:
    """One value as a person reads it: in full (up to ``MAX_VALUE``), hidden characters made visible."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if not value:
            return EMPTY
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=str)
    if len(text) > MAX_VALUE:
        digest = hashlib.sha256(text.encode()).hexdigest()
        return f"{neutralise(text[:MAX_VALUE])}… [+{len(text) - MAX_VALUE} characters not shown; SHA-256 {digest}]"
    return neutralise(text)


def label_of(path: Iterable[str]) -> str:
    """``("address_details", "city")`` → "Address details › City"; ``manager_id`` → "Manager"."""
    parts = []
    for key in path:
        words = key[:-3] if key.endswith("_id") and len(key) > 3 else key
        words = words.replace("_", " ").replace("-", " ").strip() or key
        parts.append(neutralise(words[:1].upper() + words[1:]))
    return " › ".join(parts)


def flatten(arguments: dict[str, Any], budget: int = MAX_ROWS) -> tuple[list[tuple[tuple[str, ...], Any]],
                                                                     list[tuple[tuple[str, ...], dict[str, Any]]]]:
    """Every (path, value) the write sets, and the objects that were opened to list them.

    Nested objects are opened up to ``MAX_DEPTH`` while the row budget lasts, so a huge free-form object
    becomes one complete JSON row rather than thousands of rows.
    """
    rows: list[tuple[tuple[str, ...], Any]] = []
    opened: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def walk(prefix: tuple[str, ...], value: Any) -> None:
        if isinstance(value, dict) and value and len(prefix) < MAX_DEPTH and len(rows) + len(value) <= budget:
            opened.append((prefix, value))
            for key, inner in value.items():
                walk((*prefix, str(key)), inner)
        else:
            rows.append((prefix, value))

    for key, value in arguments.items():
        walk((str(key),), value)
    return rows, opened


def before_of(record: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    """The current value at ``path`` in the target record, or ``UNKNOWN``.

    A reference ``manager_id`` is also read from an embedded object ``manager: {id, …}`` — the common
    shape of a record that shows what it points at. A parent that is null means every child is empty.
    """
    current: Any = record
    for depth, key in enumerate(path):
        if current is None and depth > 0:
            return None
        if not isinstance(current, dict):
            return UNKNOWN
        if key in current:
            current = current[key]
        elif key.endswith("_id") and isinstance(current.get(key[:-3]), dict | type(None)) and key[:-3] in current:
            embedded = current[key[:-3]]
            return None if embedded is None else embedded.get("id", UNKNOWN)
        else:
            return UNKNOWN
    return current


def embedded_name(record: dict[str, Any] | None, path: tuple[str, ...]) -> str | None:
    """The name an embedded reference carries (``manager: {id, name}`` for ``manager_id``), if any."""
    if not record or len(path) != 1 or not path[0].endswith("_id"):
        return None
    embedded = record.get(path[0][:-3])
    if isinstance(embedded, dict):
        for key in ("full_name", "name", "display_name", "title"):
            if isinstance(embedded.get(key), str) and embedded[key].strip():
                return embedded[key]
    return None


def removed_children(record: dict[str, Any] | None, path: tuple[str, ...], written: dict[str, Any]) -> list[str]:
    """Keys of the current object at ``path`` that the write's object for it leaves out."""
    current = before_of(record, path)
    if not isinstance(current, dict):
        return []
    return [k for k in current if k not in written]


def named(ident: Any, name: str | None) -> str:
    """An id with the name a read found for it: "Hans Weber (id 7f3e…)"; the bare id otherwise."""
    return f"{neutralise(name)} (id {show(ident)})" if name else show(ident)
