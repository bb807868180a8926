"""Plain-English summaries of a write, for the person asked to approve it.

"Approve 3 days of time off (2–4 Dec) for Ana Silva, Acme GmbH?" A person can only judge an action
they can read, so ids are resolved to names with read calls where the back end can tell them: the
write's own target (``POST /timeoff/{id}/approve`` → ``GET /timeoff/{id}``) and the records it points
at (``employment_id`` → ``GET /employments/{id}``). Which GET answers which id comes from the catalogue
(path templates), not from per-back-end code. A lookup runs only when the agent's policy could make
that read itself, so a summary never tells an agent more than it may read; any failure falls back to
showing the id.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

import anyio

from ..calls.context import UpstreamCaller
from ..catalogue.models import Endpoint, Manifest
from ..policy import AgentPolicy, Policies
from ..tenants import Tenant, Tenants

log = logging.getLogger("ops_mcp.confirmation")

LOOKUP_TIMEOUT = 5.0
MAX_LOOKUPS = 4
_PARAM = re.compile(r"\{[^}]+\}")
# Fields that name a record, best first.
_LABEL_KEYS = ("full_name", "name", "display_name", "number", "title", "summary", "email", "url", "sku")
# References worth naming, with the preposition that reads well in a sentence.
_REFERENCE_WORDS = (
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


class Summarizer:
    """Builds summaries from the catalogue; ``fetch`` is the lookup (injectable for tests)."""

    def __init__(self, catalogue: dict[str, Manifest], policies: Policies, tenants: Tenants,
                 upstream: UpstreamCaller) -> None:
        self.catalogue = catalogue
        self.policies = policies
        self.tenants = tenants
        self.upstream = upstream
        self._getters: dict[str, dict[str, Endpoint]] = {}  # backend -> normalised GET template -> endpoint

    async def summarize(self, agent: str, endpoint: Endpoint, arguments: dict[str, Any]) -> str:
        backend = endpoint.area.split(".", 1)[0]
        policy = self.policies[agent]
        lookup = _Lookup(self, agent, backend, policy)
        target = await lookup.target(endpoint, arguments)
        facts = {**(target or {}), **_flatten(arguments)}
        phrase = _action_phrase(endpoint, facts, target, _target_id(endpoint, arguments))
        refs = await lookup.references(facts, exclude=_target_key(endpoint))
        tenant = self._tenant_label(agent, backend)
        sentence = " ".join(p for p in [phrase, *refs] if p)
        details = _details(arguments)
        if details:
            sentence += f" ({details})"
        return f"{sentence}, {tenant}?" if tenant else f"{sentence}?"

    def _tenant(self, agent: str, backend: str) -> Tenant | None:
        policy = self.policies.get(agent)
        binding = policy.bindings.get(backend) if policy is not None else None
        return self.tenants.get(backend, binding) if binding is not None else None

    def _tenant_label(self, agent: str, backend: str) -> str | None:
        tenant = self._tenant(agent, backend)
        return tenant.label if tenant is not None else None  # no binding: the summary reads without it

    def getters(self, backend: str) -> dict[str, Endpoint]:
        if backend not in self._getters:
            manifest = self.catalogue.get(backend)
            found: dict[str, Endpoint] = {}
            for e in manifest.endpoints if manifest else []:
                if e.method == "GET" and e.access == "read" and not e.paginated:
                    found.setdefault(_PARAM.sub("{}", e.path), e)
            self._getters[backend] = found
        return self._getters[backend]

    async def fetch(self, agent: str, backend: str, path: str) -> dict[str, Any] | None:
        tenant = self._tenant(agent, backend)
        if tenant is None:
            return None
        with anyio.fail_after(LOOKUP_TIMEOUT):
            status, body = await self.upstream.request_json(tenant.connection, "GET", path)
        return body if 200 <= status < 300 and isinstance(body, dict) else None


class _Lookup:
    """The lookups of one summary: capped, cached, and limited to what the agent's policy can read."""

    def __init__(self, owner: Summarizer, agent: str, backend: str, policy: AgentPolicy) -> None:
        self.owner, self.agent, self.backend, self.policy = owner, agent, backend, policy
        self.count = 0
        self.cache: dict[str, dict[str, Any] | None] = {}

    async def get(self, template: str, ident: Any) -> dict[str, Any] | None:
        getter = self.owner.getters(self.backend).get(template)
        if getter is None or not self.policy.permits(getter) or not _safe_id(ident):
            return None
        path = template.replace("{}", str(ident))
        if path in self.cache:
            return self.cache[path]
        if self.count >= MAX_LOOKUPS:
            return None
        self.count += 1
        try:
            body = await self.owner.fetch(self.agent, self.backend, path)
        except Exception as exc:  # a summary must never block or fail the confirmation itself
            log.info("summary lookup %s failed: %s", path, type(exc).__name__)
            body = None
        found = _unwrap(body, getter.response.unwrap) if body is not None else None
        self.cache[path] = found
        return found

    async def target(self, endpoint: Endpoint, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """The record a write acts on: the GET at the write's path up to its last path parameter."""
        names = re.findall(r"\{([^}]+)\}", endpoint.path)
        if not names:
            return None
        cut = endpoint.path.rfind("{" + names[-1] + "}") + len(names[-1]) + 2
        template = _PARAM.sub("{}", endpoint.path[:cut])
        if template.count("{}") != 1 or names[-1] not in arguments:
            return None
        return await self.get(template, arguments[names[-1]])

    async def references(self, facts: dict[str, Any], exclude: str | None) -> list[str]:
        out: list[str] = []
        for key, word in _REFERENCE_WORDS:
            if key == exclude:
                continue
            ident = facts.get(f"{key}_id")
            if ident is None and f"lead_{key}_id" in facts:
                ident = facts[f"lead_{key}_id"]
            if not isinstance(ident, str | int):
                continue
            template = self._template_for(key)
            record = await self.get(template, ident) if template else None
            out.append(f"{word} {_label(record) or ident}")
        return out

    def _template_for(self, key: str) -> str | None:
        for template in self.owner.getters(self.backend):
            if template.count("{}") == 1 and template.endswith("/{}") and _resource_key(template) == key:
                return template
        return None


def _resource_key(template: str) -> str:
    """``/v1/work-orders/{}`` → ``work_order``; ``/v1/employments/{}`` → ``employment``."""
    segment = template.rstrip("/{}").rsplit("/", 1)[-1].replace("-", "_")
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") else segment


def _target_key(endpoint: Endpoint) -> str | None:
    names = re.findall(r"\{[^}]+\}", endpoint.path)
    if not names:
        return None
    cut = endpoint.path.rfind(names[-1])
    return _resource_key(_PARAM.sub("{}", endpoint.path[:cut]) + "{}")


def _target_id(endpoint: Endpoint, arguments: dict[str, Any]) -> str | None:
    names = re.findall(r"\{([^}]+)\}", endpoint.path)
    value = arguments.get(names[-1]) if names else None
    return _clip(str(value), 40) if isinstance(value, str | int) else None


def _action_phrase(
    endpoint: Endpoint, facts: dict[str, Any], target: dict[str, Any] | None, target_id: str | None
) -> str:
    verb, _, noun = endpoint.title.partition(" ")
    noun = " ".join(w if w.isupper() else w.lower() for w in noun.split())
    days = _day_count(facts)
    if days:
        noun = f"{days} day{'s' if days != 1 else ''} of {noun}"
    label = _label(target) if target else None
    phrase = f"{verb} {noun}".strip()
    if label:
        phrase += f" “{label}”" if " " in label and not _looks_like_person(target) else f" {label}"
    elif target is None and target_id:
        phrase += f" {target_id}"  # the lookup failed or is not allowed: the id is all we can show
    target_status = facts.get("to")
    if isinstance(target_status, str) and target_status:
        phrase += (
            f" to {_clip(target_status.replace('_', ' '), 30)}"  # "Transition work order WO-1 to completed"
        )
    when = _date_range(facts)
    if when:
        phrase += f" ({when})"
    money = _money(facts)
    if money:
        phrase += f" of {money}"
    return phrase


def _details(arguments: dict[str, Any]) -> str:
    """A few scalar arguments a person would want to see (e.g. ``to: completed``), never ids."""
    shown: list[str] = []
    for key, value in _flatten(arguments).items():
        if key in _SKIP_DETAILS or key.endswith(("_id", "_ids", "_date", "_days")) or key == "id":
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
            shown.append(f"{key.replace('_', ' ')}: {_clip(text)}")
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


def _flatten(arguments: dict[str, Any]) -> dict[str, Any]:
    body = arguments.get("body")
    merged = {k: v for k, v in arguments.items() if k != "body"}
    if isinstance(body, dict):
        merged = {**body, **merged}
    return merged


def _unwrap(body: Any, keys: list[str]) -> dict[str, Any] | None:
    for key in keys:
        if isinstance(body, dict) and key in body:
            body = body[key]
    return body if isinstance(body, dict) else None


def _label(record: dict[str, Any] | None) -> str | None:
    if not record:
        return None
    for key in _LABEL_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return _clip(value.strip())
    basic = record.get("basic_information")
    if isinstance(basic, dict) and isinstance(basic.get("name"), str):
        return _clip(basic["name"])
    # Equipment has no name: "Otis Gen2 (OT-625726)".
    model = " ".join(str(record[k]) for k in ("manufacturer", "model") if isinstance(record.get(k), str))
    if model:
        serial = record.get("serial_number")
        return _clip(f"{model} ({serial})" if isinstance(serial, str) else model)
    return None


def _looks_like_person(record: dict[str, Any] | None) -> bool:
    return bool(record) and "full_name" in record  # type: ignore[operator]


def _day_count(facts: dict[str, Any]) -> int | None:
    for key, value in facts.items():
        if key.endswith("_days") and isinstance(value, list) and value:
            return len(value)
    return None


def _date_range(facts: dict[str, Any]) -> str | None:
    start = _as_date(facts.get("start_date") or facts.get("scheduled_start"))
    end = _as_date(facts.get("end_date") or facts.get("scheduled_end"))
    if start is None:
        return None
    if end is None or end == start:
        return _day(start, with_month=True)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{_day(end, with_month=True)}"
    return f"{_day(start, with_month=True)} – {_day(end, with_month=True)}"


def _day(value: date, *, with_month: bool) -> str:
    return f"{value.day} {value.strftime('%b')}" if with_month else str(value.day)


def _as_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _money(facts: dict[str, Any]) -> str | None:
    amount, currency = facts.get("amount", facts.get("total")), facts.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    major = f"{amount / 100:,.2f}"  # both back ends count money in minor units (cents)
    symbol = _CURRENCY.get(currency.upper())
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"


def _safe_id(value: Any) -> bool:
    # Ids go into a URL path: refuse anything that could change the path (slashes, dots, spaces).
    return isinstance(value, str | int) and bool(re.fullmatch(r"[A-Za-z0-9_\-]{1,128}", str(value)))


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
