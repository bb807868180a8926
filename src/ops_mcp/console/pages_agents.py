"""Agents and their tokens: create an agent, issue a token (shown once), rotate it, revoke it.

Tokens are the same ``agent_tokens.json`` the CLI writes (``ops-mcp agents``); every replica re-reads it
at the next request, and the revocation watcher closes what the old token holds open — here at once.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import ConfigError
from .record import record_action
from .web import PREFIX, Signed, back_to

AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def routes(console: Any) -> list[Route]:
    web = console.web

    def listing(request: Request, who: Any, **extra: Any) -> Response:
        store = console.token_store()
        tokens = store.tokens() if store is not None else {}
        agents = [
            {"name": name, "description": console.description(name), "token": tokens.get(name)}
            for name in console.runtime.policies.names()
        ]
        return web.render(
            request,
            "agents.html",
            who,
            agents=agents,
            tokens_enabled=store is not None,
            **{"shown": None, "problem": "", **extra},
        )

    async def agents(request: Request) -> Response:
        return listing(request, web.require(request))

    @web.change("agents")
    async def create(request: Request, who: Signed, form: FormData) -> Response:
        name = str(form.get("name", "")).strip()
        description = str(form.get("description", "")).strip()[:300]
        if not AGENT_NAME.match(name):
            raise HTTPException(
                400, "name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        if name in console.runtime.policies:
            raise HTTPException(400, f"name: there is already an agent called {name}")
        table: dict[str, Any] = {"areas": {}}
        if description:
            table["description"] = description
        try:
            console.save_policy(who, name, table)
        except ConfigError as exc:
            raise HTTPException(400, str(exc)) from None
        created = f"Created {name}: every area is off until you grant it."
        return back_to(who, f"{PREFIX}/agents/{name}", created)

    @web.change("tokens")
    async def token(request: Request, who: Signed, _form: FormData) -> Response:
        name = request.path_params["agent"]
        store = console.token_store()
        if name not in console.runtime.policies or store is None:
            raise HTTPException(404, "No such agent, or agent tokens are turned off.")
        rotated = name in store.tokens()
        secret = store.issue(name)
        await console.state.revocations.check()  # the replaced token's sessions and streams end now
        verb = "rotated the token of" if rotated else "issued a token for"
        record_action(
            console.runtime.audit,
            who,
            "rotate_token" if rotated else "issue_token",
            f"{verb} {name}",
            agent=name,
        )
        return listing(request, who, shown={"agent": name, "token": secret})

    @web.change("tokens")
    async def revoke(request: Request, who: Signed, _form: FormData) -> Response:
        name = request.path_params["agent"]
        store = console.token_store()
        if store is None or not store.revoke(name):
            raise HTTPException(404, f"{name} has no token.")
        await console.state.revocations.check()  # its open sessions and streams end now
        record_action(console.runtime.audit, who, "revoke_token", f"revoked the token of {name}", agent=name)
        revoked = f"Revoked the token of {name}; its open sessions were closed."
        return back_to(who, f"{PREFIX}/agents", revoked)

    return [
        Route("/agents", agents, methods=["GET"]),
        Route("/agents", create, methods=["POST"]),
        Route("/agents/{agent}/token", token, methods=["POST"]),
        Route("/agents/{agent}/revoke", revoke, methods=["POST"]),
    ]
