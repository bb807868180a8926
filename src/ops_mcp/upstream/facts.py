"""Facts about each back end and endpoint that every call needs, worked out once.

A back end: its profile, its paginator, its in-progress error codes. An endpoint, from its path:
what kind of object it names ("work order") for "no work order with id X" messages, and which
list tool finds the right id; from its path parameters: their compiled checks. Only the
connection and the object id differ between calls (``EndpointFacts.context``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..catalogue.models import BackendProfile, Endpoint, Manifest
from ..records import Frozen, set_fields
from .connection import Connection
from .errors import ErrorContext
from .paginators import Paginator, paginator_for
from .request import PathRules

_PLACEHOLDER = re.compile(r"^\{.+\}$")


class BackendFacts(Frozen):
    __slots__ = ("profile", "paginator", "in_progress_codes", "not_ready_codes")
    profile: BackendProfile
    paginator: Paginator
    in_progress_codes: frozenset[str]
    not_ready_codes: frozenset[str]

    def __init__(
        self, profile: BackendProfile, paginator: Paginator, in_progress_codes: frozenset[str],
        not_ready_codes: frozenset[str],
    ) -> None:
        set_fields(self, profile=profile, paginator=paginator, in_progress_codes=in_progress_codes,
                   not_ready_codes=not_ready_codes)

    @classmethod
    def of(cls, profile: BackendProfile) -> BackendFacts:
        errors = profile.errors
        return cls(profile, paginator_for(profile.pagination), frozenset(errors.in_progress_codes),
                   frozenset(errors.not_ready_codes))


class EndpointFacts(Frozen):
    __slots__ = ("endpoint", "thing", "list_tool", "path_rules")
    endpoint: Endpoint  # the object these facts were computed for
    thing: str  # e.g. "work order"
    list_tool: str | None  # the tool to suggest when an id was not found
    path_rules: PathRules

    def __init__(self, endpoint: Endpoint, thing: str, list_tool: str | None, path_rules: PathRules) -> None:
        set_fields(self, endpoint=endpoint, thing=thing, list_tool=list_tool, path_rules=path_rules)

    def context(self, connection: Connection, backend: BackendFacts, object_id: str | None) -> ErrorContext:
        return ErrorContext(
            connection_name=connection.display_name,
            backend_title=backend.profile.title,
            not_ready_codes=backend.not_ready_codes,
            thing=self.thing,
            object_id=object_id,
            list_tool=self.list_tool,
            is_write=self.endpoint.access == "write",
            secrets=tuple(connection.secrets()),
        )


def list_tools(catalogue: Mapping[str, Manifest]) -> dict[tuple[str, str], str]:
    """(back end, path) → the first GET tool on that path: where to look ids up."""
    out: dict[tuple[str, str], str] = {}
    for name, manifest in catalogue.items():
        for endpoint in manifest.endpoints:
            if endpoint.method == "GET":
                out.setdefault((name, endpoint.path), endpoint.tool)
    return out


def facts_for(endpoint: Endpoint, backend: str, hint_tools: Mapping[tuple[str, str], str]) -> EndpointFacts:
    segments = [s for s in endpoint.path.split("/") if s]
    thing, collection = "object", None
    last_param = max((i for i, s in enumerate(segments) if _PLACEHOLDER.match(s)), default=None)
    if last_param is not None and last_param > 0:
        thing = _thing(segments[last_param - 1])
        collection = "/" + "/".join(segments[:last_param])
    elif segments:
        thing = _thing(segments[-1])
    # A read suggests the listing of its collection; a write, the reads of the object it changes.
    candidates = [collection] if endpoint.access == "read" else [endpoint.path, collection]
    if endpoint.access == "write" and last_param is not None:
        candidates.append("/" + "/".join(segments[: last_param + 1]))
    list_tool = next(
        (
            hint_tools[(backend, path)]
            for path in candidates
            if path and hint_tools.get((backend, path), endpoint.tool) != endpoint.tool
        ),
        None,
    )
    return EndpointFacts(endpoint, thing, list_tool, PathRules(endpoint.parameters.path))


def _thing(segment: str) -> str:
    word = segment.replace("-", " ").replace("_", " ")
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word
