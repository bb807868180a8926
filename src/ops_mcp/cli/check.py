"""``ops-mcp check``: the configuration is valid, and every connection answers an authenticated read.

One line per connection; an unreachable or refusing back end is a line and a non-zero exit, never a
traceback. With no configuration at all it still probes the embedded sandbox, says that nothing is
configured and how to start (``ops-mcp init``), and exits non-zero.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import (
    add_config,
    config_of,
    is_configured,
    load_runtime,
    load_settings_or_exit,
    no_config_message,
)

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..tenants import Tenant


def register(sub: Any) -> None:
    check = sub.add_parser("check", help="validate config, connectivity and environment separation")
    add_config(check)
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    import tempfile

    settings = load_settings_or_exit(config_of(args), require=False)
    configured = is_configured(settings)
    with tempfile.TemporaryDirectory(prefix="ops-mcp-check-") as scratch:
        if not configured:
            # Nothing configured: probe the sandbox without leaving a state dir in the user's home.
            settings.storage.dir = Path(scratch)
        runtime = load_runtime(config_of(args), settings=settings)
        return _report(runtime, configured)


def _report(runtime: Runtime, configured: bool) -> int:
    import anyio

    settings = runtime.settings
    if configured:
        print(f"config: ok ({settings.config_path or 'from the environment (OPS_MCP_*)'})")
        print(f"state dir: {runtime.state_dir}")
    else:
        print(f"config: none — {no_config_message()}")
    print(f"agents: {', '.join(runtime.policies.names()) or 'none'}")

    async def probe_all() -> int:
        try:
            lines = [await engines(runtime)] + [await probe(runtime, tenant) for tenant in runtime.tenants.all()]
        finally:
            await runtime.aclose()
        for _, line in lines:
            print(line)
        return 0 if configured and all(ok for ok, _ in lines) else 1

    return anyio.run(probe_all)


async def engines(runtime: Runtime) -> tuple[bool, str]:
    """(both answer, two lines): where state persists and how replicas coordinate."""
    import anyio

    store = runtime.store
    stored = await anyio.to_thread.run_sync(store.ping)
    version = getattr(store, "version", None)
    storage = (
        f"storage: {store.engine} ({store.where})"
        + (f", schema version {version}" if version else "")
        + ("" if stored else " — NOT REACHABLE")
    )
    coordination = runtime.coordination
    if coordination is None:
        return stored, storage
    shared = await coordination.ping()
    status = coordination.status()
    line = f"coordination: {status.engine}" + (" — NOT REACHABLE" if not shared else f" ({status.detail})")
    return stored and shared, f"{storage}\n{line}"


async def probe(runtime: Runtime, tenant: Tenant) -> tuple[bool, str]:
    """(reachable, one line) for one connection: a cheap authenticated read of its first plain list."""
    title = runtime.catalogue[tenant.backend].backend.title
    where = "embedded sandbox" if tenant.embedded else tenant.connection.base_url
    name = f"{title} ({tenant.name})"
    from ..upstream.tokens import serves

    # A partner-level connection cannot list a company's data: probe a list its token may read.
    endpoint = next((e for e in runtime.catalogue[tenant.backend].endpoints
                     if e.paginated and not e.parameters.path.get("properties")
                     and serves(tenant.connection, e.token_kind)), None)
    if endpoint is None:
        return True, f"{name} via {where}: no list to probe; skipped"
    outcome = await runtime.upstream.call(tenant.connection, endpoint, {})
    if outcome.ok:
        return True, f"{name} via {where}: reachable ({tenant.label})"
    error = outcome.error
    tries = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
    if error is not None and error.kind in ("network", "timeout"):
        return False, f"{name} via {where}: unreachable after {tries}"
    detail = f"HTTP {outcome.status}" if outcome.status else (error.kind if error is not None else "failed")
    return False, f"{name} via {where}: {detail}: {error.message if error is not None else ''}".rstrip(": ")
