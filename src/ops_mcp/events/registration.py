"""Registering the webhook receiver with each back end, through the back end's own API.

How to register comes from the profile (``backend.webhooks.registration``: a catalogue tool and its fixed
arguments); the signing secret in the answer is kept in the webhook secrets file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..calls.context import UpstreamCaller
from ..catalogue.models import Endpoint, Manifest
from ..tenants import Tenants
from .secrets import WebhookSecrets


@dataclass
class Registration:
    backend: str
    connection: str
    url: str
    ok: bool
    detail: str


async def register_webhooks(catalogue: dict[str, Manifest], tenants: Tenants, upstream: UpstreamCaller,
                            receiver_base: str, secrets: WebhookSecrets, *, backends: list[str] | None = None,
                            embedded: bool | None = None) -> list[Registration]:
    """Register ``{receiver_base}/webhooks/{backend}`` with every connection of every back end, via its API.

    ``embedded`` True/False limits this to connections on the embedded sandbox / on real back ends.
    """
    endpoints: dict[str, Endpoint] = {e.tool: e for m in catalogue.values() for e in m.endpoints}
    results: list[Registration] = []
    for tenant in tenants.all():
        backend, name = tenant.backend, tenant.name
        if (backends and backend not in backends) or (embedded is not None and tenant.embedded != embedded):
            continue
        url = f"{receiver_base.rstrip('/')}/webhooks/{backend}"
        # How to register comes from the back end's profile: a catalogue tool and its fixed arguments.
        profile = catalogue[backend].backend.webhooks
        recipe = profile.registration if profile is not None else None
        if recipe is None or recipe.tool not in endpoints:
            results.append(Registration(backend, name, url, False, "this back end has no webhook registration"))
            continue
        arguments = {recipe.url_argument: url, **recipe.arguments}
        outcome = await upstream.call(tenant.connection, endpoints[recipe.tool], arguments)
        data = outcome.data if outcome.ok and isinstance(outcome.data, dict) else {}
        secret = next((data[k] for k in recipe.secret_fields if isinstance(data.get(k), str)), None)
        if secret is None:
            message = outcome.error.message if outcome.error is not None else "no signing secret in the answer"
            results.append(Registration(backend, name, url, False, message))
            continue
        # The previous secret stays valid too: a callback registered earlier may still be delivering.
        secrets.put(backend, name, secret, remote_id=str(data.get("id")) if data.get("id") else None, url=url,
                    keep_previous=True)
        results.append(Registration(backend, name, url, True, f"registered as {data.get('id', '?')}"))
    return results
