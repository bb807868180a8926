"""The operator console at ``/admin``: access matrix, agents and tokens, approvals, audit, live view.

Server-rendered (Starlette + Jinja2), no JavaScript. ``console_routes`` is all the HTTP app mounts;
Jinja2 is imported only when the app is built, never by stdio start-up.
"""

from __future__ import annotations

from typing import Any


def console_routes(state: Any) -> list[Any]:
    """The ``/admin`` mount over the HTTP app's services (``transports.http.AppState``)."""
    from .app import build_console

    return [build_console(state)]
