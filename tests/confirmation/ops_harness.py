"""Shared helpers for the confirmation and discovery tests: sandbox, settings, server, seed lookups."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ops_mcp.config import Settings
from ops_mcp.runtime import Runtime
from ops_mcp.server.governed import GovernedServer

ERAS = ["legacy", "2026-07-28"]
# In-client confirmation must be chosen per agent (the default is "person"): these agents stand for a
# human-facing client whose operator opted in.
HR_CONFIRM = {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static",
              "confirm_via": "client"}
# The default: only a person out of band says yes.
HR_PERSON = {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"}


def sandbox_app() -> Any:
    """The embedded sandbox of both back ends."""
    from ops_mcp.sandbox.app import create_sandbox_app

    return create_sandbox_app()


def settings_for(state_dir: Path, agents: dict[str, dict], server: dict | None = None) -> Settings:
    backends: dict[str, dict] = {
        "remote": {"connections": {"acme": {"label": "Acme GmbH"}}},
        "remoteops": {"connections": {"northwind": {"label": "Northwind Elevators"}}},
    }
    return Settings(storage={"dir": str(state_dir)}, backends=backends, agents=agents, server=server or {})


def backend_state(runtime: Runtime, backend: str) -> Any:
    """The emulator's state (``requests`` log, ``data``) behind the sandbox app."""
    return getattr(runtime.sandbox_app.state, backend).state.sandbox


def writes(runtime: Runtime, backend: str, fragment: str = "") -> list[Any]:
    """Non-GET requests that reached the back end (optionally only paths containing ``fragment``)."""
    return [r for r in backend_state(runtime, backend).requests if r.method != "GET" and fragment in r.path]


def make_server(runtime: Runtime, agent: str, **kwargs: Any) -> GovernedServer:
    return runtime.mcp_server(resolve_agent=lambda: agent, transport="stdio", **kwargs)


def requested_timeoff(runtime: Runtime, skip: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Arguments for ``remote_approve_timeoff`` on a requested time off of Acme, and the record."""
    data = backend_state(runtime, "remote").data
    acme = next(
        c["id"] for c in data["companies"].values() if c.get("_slug") == "acme" or c["name"] == "Acme GmbH"
    )
    found = [
        t
        for t in data["timeoffs"].values()
        if t["status"] == "requested" and data["employments"][t["employment_id"]]["_company_id"] == acme
    ]
    record = found[skip]
    manager = next(m["user_id"] for m in data["managers"].values() if m["_company_id"] == acme)
    return {"timeoff_id": record["id"], "approver_id": manager}, record


def employee_name(runtime: Runtime, timeoff: dict[str, Any]) -> str:
    return backend_state(runtime, "remote").data["employments"][timeoff["employment_id"]]["full_name"]


@contextmanager
def served(runtime, *, stateless: bool) -> Iterator[str]:
    """The runtime's HTTP app on a loopback port (uvicorn in a thread); yields the MCP URL."""
    import uvicorn

    from ops_mcp.transports.http import create_app, free_port

    port = free_port()
    app = create_app(runtime, transports=("http",), stateless=stateless, host="127.0.0.1", port=port)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
