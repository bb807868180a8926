"""Change summaries: what a person must see before saying yes to a write, and whether it can be asked.

``Summarizer.describe`` reads what a read can tell (``lookups.py``: the write's target, the records its
ids name — only where the agent's policy could read them itself) and builds a ``ChangeSummary``
(``changes.py``): the headline sentence (``headline.py``) and every field the write sets, before →
after, ids resolved to names. When a read says the target or a referenced object does not exist, the
summary lists it in ``missing`` and the confirmer refuses the write before anyone is asked.

Nothing here is back-end specific: which GET answers which id comes from the catalogue's path
templates. Any failed read falls back to showing the id.
"""

from __future__ import annotations

from typing import Any

import anyio

from ..audit import Redaction
from ..calls.context import UpstreamCaller
from ..catalogue.models import Endpoint, Manifest
from ..policy import Policies
from ..tenants import Tenant, Tenants
from ..text import neutralise
from .changes import (
    NOT_IN_WRITE,
    UNKNOWN,
    ChangeSummary,
    FieldChange,
    before_of,
    embedded_name,
    flatten,
    label_of,
    named,
    removed_children,
    show,
)
from .headline import REFERENCE_WORDS, action_phrase, clip, details, flatten_body, label
from .headline import date_range as _date_range  # noqa: F401  (tests read the date phrasing here)
from .lookups import Getters, Lookups, Read, safe_id, target_key, target_param

LOOKUP_TIMEOUT = 5.0


class Summarizer:
    """Builds change summaries from the catalogue; ``fetch`` is the one read it makes (injectable)."""

    def __init__(self, catalogue: dict[str, Manifest], policies: Policies, tenants: Tenants,
                 upstream: UpstreamCaller, redaction: Redaction | None = None) -> None:
        self.catalogue = catalogue
        self.policies = policies
        self.tenants = tenants
        self.upstream = upstream
        self.redaction = redaction if redaction is not None else Redaction()
        self.getters = Getters(catalogue)

    async def summarize(self, agent: str, endpoint: Endpoint, arguments: dict[str, Any]) -> str:
        """The headline sentence alone."""
        return (await self.describe(agent, endpoint, arguments)).sentence

    async def describe(self, agent: str, endpoint: Endpoint, arguments: dict[str, Any]) -> ChangeSummary:
        backend = endpoint.area.split(".", 1)[0]
        lookups = Lookups(self.getters, self.fetch, agent, backend, self.policies[agent])
        tenant = self._tenant(agent, backend)
        tenant_label = tenant.label if tenant is not None else None
        param = target_param(endpoint)
        found = await lookups.target(endpoint, arguments)
        target = _target_info(param, arguments, found)
        if found.state == "missing":
            absent = f"there is no {found.noun} {show(arguments[param])}"  # type: ignore[index]
            return ChangeSummary(sentence="", title=endpoint.title, tenant=tenant_label, target=target,
                                 missing=(absent,))
        missing: list[str] = []
        private = self._private(arguments)
        sentence = await _headline(lookups, endpoint, arguments, found.record, tenant_label, private)
        rows = await _Rows(lookups, found.record, missing).build(
            {k: v for k, v in flatten_body(arguments).items() if k != param}
        )
        return ChangeSummary(sentence=neutralise(sentence), changes=tuple(rows), title=endpoint.title,
                             tenant=tenant_label, target=target, missing=tuple(missing))

    def _private(self, arguments: dict[str, Any]) -> frozenset[str]:
        """Top-level fields the audit would redact: kept out of the headline, shown in the rows."""
        flat = flatten_body(arguments)
        redacted = self.redaction.arguments(flat)
        return frozenset(k for k, v in flat.items() if redacted.get(k) != v)

    def _tenant(self, agent: str, backend: str) -> Tenant | None:
        policy = self.policies.get(agent)
        binding = policy.bindings.get(backend) if policy is not None else None
        return self.tenants.get(backend, binding) if binding is not None else None

    async def fetch(self, agent: str, backend: str, path: str) -> tuple[int, Any]:
        tenant = self._tenant(agent, backend)
        if tenant is None:
            return 0, None
        with anyio.fail_after(LOOKUP_TIMEOUT):
            return await self.upstream.request_json(tenant.connection, "GET", path)


def _target_info(param: str | None, arguments: dict[str, Any], found: Read) -> dict[str, str] | None:
    """``{"field", "id", "noun", "label"}`` of the object the write acts on (label when a read named it)."""
    if param is None or param not in arguments:
        return None
    info = {"field": param, "id": show(arguments[param]), "noun": found.noun}
    name = label(found.record, None)
    if name:
        info["label"] = neutralise(name)
    return info


async def _headline(lookups: Lookups, endpoint: Endpoint, arguments: dict[str, Any],
                    target: dict[str, Any] | None, tenant: str | None, private: frozenset[str]) -> str:
    """"Approve 3 days of time off (2–4 Dec) for Ana Silva (…), Acme GmbH?" """
    facts = {**(target or {}), **flatten_body(arguments)}
    param = target_param(endpoint)
    ident = arguments.get(param) if param else None
    target_id = clip(str(ident), 40) if isinstance(ident, str | int) else None
    phrase = action_phrase(endpoint, facts, target, target_id)
    refs = await _references(lookups, facts, exclude=target_key(endpoint))
    sentence = " ".join(p for p in [phrase, *refs] if p)
    shown = details(arguments, private)
    if shown:
        sentence += f" ({shown})"
    return f"{sentence}, {tenant}?" if tenant else f"{sentence}?"


async def _references(lookups: Lookups, facts: dict[str, Any], exclude: str | None) -> list[str]:
    """"for Ana Silva", "at Central Station": the records a write points at, named."""
    out: list[str] = []
    for key, word in REFERENCE_WORDS:
        if key == exclude:
            continue
        ident = facts.get(f"{key}_id")
        if ident is None and f"lead_{key}_id" in facts:
            ident = facts[f"lead_{key}_id"]
        if not isinstance(ident, str | int):
            continue
        read = await lookups.reference(key, ident)
        out.append(f"{word} {label(read.record) or clip(str(ident), 40)}")
    return out


class _Rows:
    """One ``FieldChange`` per field the write sets, plus the fields of a replaced object it leaves out."""

    def __init__(self, lookups: Lookups, target: dict[str, Any] | None, missing: list[str]) -> None:
        self.lookups, self.target, self.missing = lookups, target, missing

    async def build(self, fields: dict[str, Any]) -> list[FieldChange]:
        paths, opened = flatten(fields)
        rows = [await self._row(path, value) for path, value in paths]
        for path, written in opened:
            dropped = [
                FieldChange(".".join((*path, key)), label_of((*path, key)),
                            show(before_of(self.target, (*path, key))), NOT_IN_WRITE)
                for key in removed_children(self.target, path, written)
            ]
            prefix = ".".join(path) + "."
            at = max((i for i, r in enumerate(rows) if r.field.startswith(prefix)), default=len(rows) - 1) + 1
            rows[at:at] = dropped
        return rows

    async def _row(self, path: tuple[str, ...], value: Any) -> FieldChange:
        label_text = label_of(path)
        after = await self._shown(path, value, check=True)
        before: str | None = None
        if self.target is not None:
            current = before_of(self.target, path)
            if current is not UNKNOWN:
                before = await self._shown(path, current, check=False)
        return FieldChange(".".join(path), label_text, before, after)

    async def _shown(self, path: tuple[str, ...], value: Any, *, check: bool) -> str:
        """``value`` for a person; an id gets the name a read finds (and, for the new value, a read
        saying it does not exist makes the write stop before anyone is asked)."""
        key = path[-1]
        if key.endswith("_id") and safe_id(value):
            return await self._one_id(path, key[:-3], value, check)
        if key.endswith("_ids") and isinstance(value, list) and value and all(safe_id(v) for v in value):
            return ", ".join([await self._one_id(path, key[:-4], v, check) for v in value])
        return show(value)

    async def _one_id(self, path: tuple[str, ...], key: str, ident: Any, check: bool) -> str:
        read = await self._reference(key, ident)
        if read.state == "missing" and check:
            self.missing.append(f"there is no {read.noun} {show(ident)} ({label_of(path)})")
        if read.record:
            return named(ident, label(read.record, None))
        return named(ident, None if check else embedded_name(self.target, path))

    async def _reference(self, key: str, ident: Any) -> Read:
        """The object an id names: ``employment`` first, then without leading words
        (``manager_employment`` → ``employment``, ``lead_technician`` → ``technician``)."""
        words = key.split("_")
        for start in range(len(words)):
            candidate = "_".join(words[start:])
            if self.lookups.getters.for_reference(self.lookups.backend, candidate):
                return await self.lookups.reference(candidate, ident)
        return Read("unknown")
