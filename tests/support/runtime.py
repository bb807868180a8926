"""One way for tests to build ops-mcp's runtime on the embedded sandbox: settings, a factory that closes
what it built, and a look at an emulator's own state (its request log and stores)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio.lowlevel

from ops_mcp.config import Settings
from ops_mcp.runtime import Runtime, build_runtime

# One tenant per back end (the default), or two, for tests about tenants.
ONE_TENANT: dict[str, Any] = {
    "remote": {"connections": {"acme": {"label": "Acme GmbH"}}},
    "remoteops": {"connections": {"northwind": {"label": "Northwind Elevators"}}},
}
TWO_TENANTS: dict[str, Any] = {
    "remote": {"connections": {"acme": {"label": "Acme GmbH"}, "globex": {"label": "Globex Ltd"}}},
    "remoteops": {"connections": {"northwind": {"label": "Northwind Elevators"}, "contoso": {"label": "Contoso"}}},
}
# An agent's connections when its back ends have two tenants: Acme (Remote) and Northwind (RemoteOps).
ACME = {"remote": "acme", "remoteops": "northwind"}
ERAS = ["legacy", "2026-07-28"]


def settings_for(state_dir: Path, agents: dict[str, dict], *, backends: dict | None = None,
                 **extra: Any) -> Settings:
    """Settings with ``agents``, a state dir of its own, and ``backends`` (one tenant each by default)."""
    return Settings(storage={"dir": str(state_dir)}, backends=backends or ONE_TENANT, agents=agents, **extra)


@contextmanager
def runtime_factory(directory: Path, *, agents: dict[str, dict],
                    backends: dict | None = None) -> Iterator[Callable[..., Runtime]]:
    """``make(agents=None, *, state_dir=None, sandbox_app=None, retry_sleep=None, **settings)``: a runtime on
    the embedded sandbox (``sandbox={...}`` keys as in ``[sandbox]``), in ``directory/state`` unless told
    otherwise; ``retry_sleep=no_wait`` for tests of what retries do rather than when. Every runtime made is
    closed when the block ends."""
    made: list[Runtime] = []

    def make(chosen: dict[str, dict] | None = None, *, state_dir: Path | None = None,
             sandbox_app: Any = None, retry_sleep: Any = None, **settings: Any) -> Runtime:
        settings = {key: value for key, value in settings.items() if value is not None}  # None: the default
        built = build_runtime(
            settings_for(state_dir or directory / "state", chosen or agents, backends=backends, **settings),
            sandbox_app=sandbox_app, retry_sleep=retry_sleep,
        )
        made.append(built)
        return built

    try:
        yield make
    finally:
        for built in made:
            close(built)


async def no_wait(seconds: float) -> None:
    """An upstream retry wait that yields to the event loop and returns: the attempts happen in the same order
    and with the same outcomes as with real backoff, without the seconds in between."""
    await anyio.lowlevel.checkpoint()


def close(runtime: Runtime) -> None:
    """Close the runtime's audit store if it was opened (it opens on first use)."""
    if hasattr(runtime, "audit"):
        runtime.audit.close()


def backend_state(runtime: Runtime, backend: str) -> Any:
    """The emulator's state object (``requests`` log, stores, faults) behind the embedded sandbox app."""
    return getattr(runtime.sandbox_app.state, backend).state.sandbox


def writes(runtime: Runtime, backend: str, fragment: str = "") -> list[Any]:
    """Non-GET requests that reached the back end (optionally only paths containing ``fragment``)."""
    return [r for r in backend_state(runtime, backend).requests if r.method != "GET" and fragment in r.path]


def request_count(runtime: Runtime) -> int:
    """Requests the embedded sandbox received, both back ends."""
    return sum(len(backend_state(runtime, b).requests) for b in ("remote", "remoteops"))


def make_server(runtime: Runtime, agent: str, **kwargs: Any) -> Any:
    """The governed MCP server as ``agent`` sees it over stdio (in process)."""
    return runtime.mcp_server(resolve_agent=lambda: agent, transport="stdio", **kwargs)
