"""Every import of ops-mcp's internals the benchmarks make, in one place.

The spawned figures go through the ``ops-mcp`` command line only; the in-process figures (2b, own
overhead; 2c, audit append) and the token counter need a few objects from inside the package. Module
paths are moving (issue 11's restructure), so each is imported here and nowhere else: when a path
moves, this is the one file to re-point.
"""

from __future__ import annotations

from typing import Any


def governed_stdio_server(settings_data: dict[str, Any], agent: str):
    """(runtime, server): ops-mcp's runtime and the governed MCP server one stdio agent would get."""
    from ops_mcp.config import Settings
    from ops_mcp.runtime import build_runtime
    from ops_mcp.transports.stdio import build_stdio_server

    runtime = build_runtime(Settings(**settings_data))
    return runtime, build_stdio_server(runtime, agent)


def upstream_get(runtime: Any, agent: str, backend: str):
    """An async ``get(path) -> status`` through the runtime's own upstream client (auth, rate budget,
    pooled connection, JSON decoding), for the tenant ``agent`` reaches on ``backend``."""
    connection = runtime.tenant_for(agent, backend).connection

    async def get(path: str) -> int:
        status, _ = await runtime.upstream.request_json(connection, "GET", path)
        return status

    return get


def audit_store(path: Any):
    """(store, make_record, redact): the audit log and what an append needs."""
    from ops_mcp.audit import AuditRecord, AuditStore, redact

    return AuditStore(path), AuditRecord, redact


def sandbox_credentials(backend: str) -> dict[str, str]:
    """The embedded sandbox's test tokens for ``backend``, by tenant."""
    import importlib

    return importlib.import_module(f"ops_mcp.sandbox.{backend}.credentials").SANDBOX_CREDENTIALS


def load_settings(path: Any):
    from ops_mcp.config import load_settings as load

    return load(path)


def agent_config(**fields: Any):
    from ops_mcp.config import AgentConfig

    return AgentConfig(**fields)


def count_tokens(text: str) -> int:
    from ops_mcp.catalogue.tokens import count_tokens as count

    return count(text)


def catalogue_definitions() -> list[dict[str, Any]]:
    """Every catalogue tool's definition, as ``tools/list`` would show it."""
    from ops_mcp.catalogue import load_catalogue
    from ops_mcp.catalogue.tools import catalogue_definitions as definitions

    return definitions(load_catalogue())


def runtime_and_stdio_builder(settings: Any):
    """(runtime, build(agent) -> governed server) for settings already loaded."""
    from ops_mcp.runtime import build_runtime
    from ops_mcp.transports.stdio import build_stdio_server

    runtime = build_runtime(settings)
    return runtime, lambda agent: build_stdio_server(runtime, agent)


def discovery_parts():
    """What the discovery evaluation needs: the catalogue, a policy seeing every area, the search
    index, and the token measures of the meta-tools and of catalogue tools."""
    from types import SimpleNamespace

    from ops_mcp.catalogue import load_catalogue
    from ops_mcp.catalogue.tools import tool_definition
    from ops_mcp.config import AgentConfig
    from ops_mcp.policy import build_policy
    from ops_mcp.server.discovery import META_TOOLS, definition_tokens, wire
    from ops_mcp.server.search_index import SearchIndex

    catalogue = load_catalogue()
    agent = AgentConfig(areas={f"{name}.*": "full" for name in catalogue})
    return SimpleNamespace(
        catalogue=catalogue,
        policy=build_policy("bench", agent, catalogue),
        search_index=SearchIndex,
        meta_tools=META_TOOLS,
        definition_tokens=definition_tokens,
        wire=wire,
        tool_definition=tool_definition,
    )


def version() -> str:
    from ops_mcp import __version__

    return __version__
