"""The reads behind a confirmation: does the object exist, what is it now, what are its ids called.

Which GET answers which id comes from the catalogue's path templates, never from per-back-end code:
a write's target is the GET at the write's path up to its last parameter (``POST /timeoff/{id}/approve``
→ ``GET /timeoff/{id}``), and a reference ``employment_id`` is answered by the single-object GET whose
collection is ``employments`` (``GET /employments/{id}``). A read runs only when the agent's own policy
could make it, so asking a person never tells the agent more than it may read. Reads are capped and
cached per confirmation, and each ends in one of three ways: found, missing (the back end said 404 or
410), or unknown (not allowed, no such GET, over the cap, or the read failed) — only "missing" stops
a write before a person is asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from ..catalogue.models import Endpoint, Manifest
from ..policy import AgentPolicy
from ..records import Frozen, set_fields

log = logging.getLogger("ops_mcp.confirmation")

MAX_LOOKUPS = 8
MISSING_STATUSES = frozenset({404, 410})
_PARAM = re.compile(r"\{[^}]+\}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_\-]{1,128}")

Fetch = Callable[[str, str, str], Awaitable[tuple[int, Any]]]  # (agent, backend, path) -> (status, body)


class Read(Frozen):
    __slots__ = ("state", "record", "noun")
    state: Literal["found", "missing", "unknown"]
    record: dict[str, Any] | None
    noun: str  # what the GET reads, for "there is no time off …"

    def __init__(self, state: Literal["found", "missing", "unknown"], record: dict[str, Any] | None = None,
                 noun: str = "object") -> None:
        set_fields(self, state=state, record=record, noun=noun)


UNKNOWN_READ = Read("unknown")


class Getters:
    """Single-object GETs of each back end, by normalised path template (``/v1/timeoff/{}``)."""

    def __init__(self, catalogue: dict[str, Manifest]) -> None:
        self.catalogue = catalogue
        self._by_backend: dict[str, dict[str, Endpoint]] = {}

    def of(self, backend: str) -> dict[str, Endpoint]:
        if backend not in self._by_backend:
            manifest = self.catalogue.get(backend)
            found: dict[str, Endpoint] = {}
            for e in manifest.endpoints if manifest else []:
                if e.method == "GET" and e.access == "read" and not e.paginated:
                    found.setdefault(_PARAM.sub("{}", e.path), e)
            self._by_backend[backend] = found
        return self._by_backend[backend]

    def for_reference(self, backend: str, key: str) -> str | None:
        """The template that reads the object an ``<key>_id`` names (``employment`` → ``/employments/{}``)."""
        for template in self.of(backend):
            if template.count("{}") == 1 and template.endswith("/{}") and resource_key(template) == key:
                return template
        return None


class Lookups:
    """The reads of one confirmation: capped, cached, and limited to what the agent's policy can read."""

    def __init__(self, getters: Getters, fetch: Fetch, agent: str, backend: str, policy: AgentPolicy) -> None:
        self.getters, self.fetch = getters, fetch
        self.agent, self.backend, self.policy = agent, backend, policy
        self.count = 0
        self.cache: dict[str, Read] = {}

    async def get(self, template: str, ident: Any) -> Read:
        getter = self.getters.of(self.backend).get(template)
        if getter is None or not self.policy.permits(getter) or not safe_id(ident):
            return UNKNOWN_READ
        path = template.replace("{}", str(ident))
        if path in self.cache:
            return self.cache[path]
        if self.count >= MAX_LOOKUPS:
            return UNKNOWN_READ
        self.count += 1
        noun = thing_of(getter)
        try:
            status, body = await self.fetch(self.agent, self.backend, path)
        except Exception as exc:  # a failed read never blocks or fails the confirmation itself
            log.info("confirmation lookup %s failed: %s", path, type(exc).__name__)
            status, body = 0, None
        if status in MISSING_STATUSES:
            found = Read("missing", noun=noun)
        elif 200 <= status < 300 and (record := unwrap(body, getter.response.unwrap)) is not None:
            found = Read("found", record, noun)
        else:
            found = Read("unknown", noun=noun)
        self.cache[path] = found
        return found

    async def target(self, endpoint: Endpoint, arguments: dict[str, Any]) -> Read:
        """The object a write acts on: the GET at the write's path up to its last path parameter."""
        names = re.findall(r"\{([^}]+)\}", endpoint.path)
        if not names or names[-1] not in arguments:
            return UNKNOWN_READ
        cut = endpoint.path.rfind("{" + names[-1] + "}") + len(names[-1]) + 2
        template = _PARAM.sub("{}", endpoint.path[:cut])
        if template.count("{}") != 1:
            return UNKNOWN_READ
        return await self.get(template, arguments[names[-1]])

    async def reference(self, key: str, ident: Any) -> Read:
        """The object ``<key>_id = ident`` names, where the catalogue has a GET for it."""
        template = self.getters.for_reference(self.backend, key)
        return await self.get(template, ident) if template else UNKNOWN_READ


def target_param(endpoint: Endpoint) -> str | None:
    """The path parameter naming the object a write acts on (its last one)."""
    names = re.findall(r"\{([^}]+)\}", endpoint.path)
    return names[-1] if names else None


def target_key(endpoint: Endpoint) -> str | None:
    """``/work-orders/{id}/transitions`` → ``work_order``: the kind of object the write acts on."""
    names = re.findall(r"\{[^}]+\}", endpoint.path)
    if not names:
        return None
    cut = endpoint.path.rfind(names[-1])
    return resource_key(_PARAM.sub("{}", endpoint.path[:cut]) + "{}")


def resource_key(template: str) -> str:
    """``/v1/work-orders/{}`` → ``work_order``; ``/v1/employments/{}`` → ``employment``."""
    segment = template.rstrip("/{}").rsplit("/", 1)[-1].replace("-", "_")
    if segment.endswith("ies"):
        return segment[:-3] + "y"
    return segment[:-1] if segment.endswith("s") else segment


def thing_of(getter: Endpoint) -> str:
    """"Get Time Off" → "time off": what a GET reads, for a sentence."""
    _, _, noun = getter.title.partition(" ")
    return " ".join(w if w.isupper() else w.lower() for w in noun.split()) or "object"


def unwrap(body: Any, keys: list[str]) -> dict[str, Any] | None:
    for key in keys:
        if isinstance(body, dict) and key in body:
            body = body[key]
    return body if isinstance(body, dict) else None


def safe_id(value: Any) -> bool:
    # Ids go into a URL path: refuse anything that could change the path (slashes, dots, spaces).
    return isinstance(value, str | int) and not isinstance(value, bool) and bool(_SAFE_ID.fullmatch(str(value)))
