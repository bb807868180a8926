"""Seeded data copied instead of seeded again: the same records and ids, and every copy is its own."""

from __future__ import annotations

import json
from datetime import date

from ops_mcp.sandbox.common.seed_copies import SeedCopies
from ops_mcp.sandbox.remote.seed import build_seed
from ops_mcp.sandbox.remoteops.app import RemoteOpsSandboxSettings
from ops_mcp.sandbox.remoteops.seed import seed_tenants
from ops_mcp.sandbox.remoteops.store import RemoteOpsState


def test_a_key_is_built_twice_at_most_and_each_copy_can_be_changed_alone():
    copies, built = SeedCopies(keep=1), []

    def build() -> dict:
        built.append(1)
        return {"records": [{"id": "a"}]}

    first, second, third = (copies.get("k", build) for _ in range(3))
    third["records"].append({"id": "b"})
    assert len(built) == 2 and first == second == {"records": [{"id": "a"}]}
    assert copies.get("k", build) == {"records": [{"id": "a"}]} and len(built) == 2
    copies.get("other", build), copies.get("other", build), copies.get("other", build)
    assert len(built) == 5  # beyond `keep` keys nothing more is kept: seeded every time


def _remoteops(day: date) -> tuple[str, str]:
    state = RemoteOpsState(RemoteOpsSandboxSettings(seed_date=day), seed=seed_tenants)
    data = json.dumps({name: tenant.to_json() for name, tenant in state.tenants.items()}, sort_keys=True)
    return data, state.ids.new("wo")  # the next runtime id: seeding draws from the same stream


def test_a_copied_sandbox_is_the_seeded_one_down_to_the_next_runtime_id():
    day = date(2031, 3, 4)  # a day no other test seeds, so the first of these really seeds
    seeded, copied, again = _remoteops(day), _remoteops(day), _remoteops(day)
    assert seeded == copied == again
    assert _remoteops(date(2031, 3, 5)) != seeded  # a different day is seeded for itself
    remote = [json.dumps(build_seed(11, day), sort_keys=True, default=str) for _ in range(3)]
    assert remote[0] == remote[1] == remote[2]


def test_an_emulator_seeds_at_its_first_request_or_when_prepared_not_when_built():
    from ops_mcp.config import SandboxConfig
    from ops_mcp.sandbox.embedded import embedded_sandbox_app, prepare_sandbox

    app = embedded_sandbox_app(SandboxConfig())
    remote, remoteops = app.state.remote.state.sandbox, app.state.remoteops.state.sandbox
    assert not remote.seeded.built and not remoteops.loaded_tenants.built  # building the app seeded nothing
    assert remote.company_by_slug("acme")["_slug"] == "acme"  # first use seeds
    assert remote.seeded.built and not remoteops.loaded_tenants.built
    prepare_sandbox(app)  # what a server's warm-up does
    assert remoteops.loaded_tenants.built and set(remoteops.tenants) == {"ten_northwind", "ten_contoso"}
