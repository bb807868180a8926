"""Which area a back-end event belongs to: from the manifests' ``events`` lists, each profile's
``webhooks.type_areas``, and the object-type naming rule (``work_order.created`` → ``work_orders``).

An event is offered to an agent only if the agent can read its area, so an event type that maps to no
area is shown to nobody.
"""

from __future__ import annotations

from ..catalogue.models import Manifest


class EventAreas:
    """Event type → area, from the manifests (``events`` lists) plus the object-type naming rule."""

    def __init__(self, catalogue: dict[str, Manifest]) -> None:
        self._areas = {name: list(manifest.areas) for name, manifest in catalogue.items()}
        # Object types whose area is not simply "<backend>.<type>s" come from each profile; types not
        # covered there or by the manifests' ``events`` lists map to no area, and so are shown to nobody.
        self._aliases = {
            name: dict(manifest.backend.webhooks.type_areas) if manifest.backend.webhooks else {}
            for name, manifest in catalogue.items()
        }
        self._exact: dict[tuple[str, str], list[str]] = {}
        for name, manifest in catalogue.items():
            for endpoint in manifest.endpoints:
                for event_type in endpoint.events:
                    found = self._exact.setdefault((name, event_type), [])
                    if endpoint.area not in found:
                        found.append(endpoint.area)

    def area_of(self, backend: str, event_type: str) -> str | None:
        areas = self._areas.get(backend, [])
        kind = event_type.split(".", 1)[0]
        alias = self._aliases.get(backend, {}).get(kind)
        # The object the event is about decides its area, e.g. work_order.created → work orders, even
        # though a contracts endpoint can also cause it.
        for candidate in (alias, kind + "s", kind[:-1] + "ies" if kind.endswith("y") else None, kind):
            if candidate and f"{backend}.{candidate}" in areas:
                return f"{backend}.{candidate}"
        exact = self._exact.get((backend, event_type))
        if exact:
            return exact[0]
        return None

    def areas_with_events(self, backend: str) -> list[str]:
        """Every area of ``backend`` an event can belong to (a feed exists for it)."""
        found = {a for (b, _), areas in self._exact.items() if b == backend for a in areas}
        found |= {f"{backend}.{v}" for v in self._aliases.get(backend, {}).values()}
        return [a for a in self._areas.get(backend, []) if a in found]
