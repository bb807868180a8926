"""What the confirmation tests share beyond ``tests.support``: the agents, a served HTTP app, settings
with a ``[server]`` table, and the embedded sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ops_mcp.config import Settings
from ops_mcp.runtime import Runtime
from ops_mcp.transports.http import create_app
from tests.support.loopback import serving
from tests.support.runtime import ERAS, backend_state, make_server, writes
from tests.support.runtime import settings_for as _settings_for
from tests.support.seed import employee_name, requested_timeoff

from .agents import HR_CONFIRM, HR_PERSON

__all__ = ["ERAS", "HR_CONFIRM", "HR_PERSON", "backend_state", "employee_name", "make_server",
           "requested_timeoff", "sandbox_app", "served", "settings_for", "writes"]


def sandbox_app() -> Any:
    """The embedded sandbox of both back ends."""
    from ops_mcp.sandbox.app import create_sandbox_app

    return create_sandbox_app()


def settings_for(state_dir: Path, agents: dict[str, dict], server: dict | None = None) -> Settings:
    return _settings_for(state_dir, agents, server=server or {})


@contextmanager
def served(runtime: Runtime, *, stateless: bool) -> Iterator[str]:
    """The runtime's HTTP app on a loopback port (uvicorn in a thread); yields the MCP URL."""

    def app_for(port: int) -> Any:
        return create_app(runtime, transports=("http",), stateless=stateless, host="127.0.0.1", port=port)

    with serving(make_app=app_for) as server:
        yield f"{server.url}/mcp"
