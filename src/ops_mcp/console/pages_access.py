"""The access matrix: every agent × area (``/admin/access``) and one page per agent (``/admin/agents/NAME``).

Each row is a radio group named "<agent> <area title>" with the options "Off", "Read", "Full"; each page has
one "Save" button (admins only; others see the same page read-only). Saving applies at once.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import ConfigError
from ..policy_store import agent_table
from . import access
from .web import PREFIX, Signed, back_to


def routes(console: Any) -> list[Route]:
    overview, save_overview = _overview(console)
    agent_page, save_agent = _agent(console)
    return [
        Route("/access", overview, methods=["GET"]),
        Route("/access", save_overview, methods=["POST"]),
        Route("/agents/{agent}", agent_page, methods=["GET"]),
        Route("/agents/{agent}", save_agent, methods=["POST"]),
    ]


def _policy_or_404(console: Any, agent: str) -> Any:
    policy = console.runtime.policies.get(agent)
    if policy is None:
        raise HTTPException(404, "No such agent.")
    return policy


def _overview(console: Any) -> tuple[Any, Any]:
    web = console.web

    async def overview(request: Request) -> Response:
        who = web.require(request)
        runtime = console.runtime
        names = runtime.policies.names()
        matrix = {
            name: {row.area: row for row in access.rows(runtime.policies[name], runtime.catalogue)}
            for name in names
        }
        areas = access.rows(runtime.policies[names[0]], runtime.catalogue) if names else []
        return web.render(
            request,
            "access.html",
            who,
            agents=names,
            areas=areas,
            matrix=matrix,
            levels=access.LEVELS,
            level_names=access.LEVEL_NAMES,
            editable=who.may("access"),
        )

    @web.change("access")
    async def save_overview(request: Request, who: Signed, form: FormData) -> Response:
        runtime = console.runtime
        said: list[str] = []
        try:
            for name in runtime.policies.names():
                policy = runtime.policies[name]
                levels = access.levels_from_form(policy, form, prefix=f"{name}/")
                if levels == policy.levels:
                    continue
                table = agent_table(policy, console.description(name))
                table["areas"] = {a: lvl for a, lvl in sorted(levels.items()) if lvl != "off"}
                said += console.save_policy(who, name, table)
        except (access.FormProblem, ConfigError) as exc:
            raise HTTPException(400, str(exc)) from None
        said_so = f"Saved: {len(said)} change(s)." if said else "Nothing changed."
        return back_to(who, f"{PREFIX}/access", said_so)

    return overview, save_overview


def _agent(console: Any) -> tuple[Any, Any]:
    web = console.web

    async def agent_page(request: Request) -> Response:
        who = web.require(request)
        runtime = console.runtime
        policy = _policy_or_404(console, request.path_params["agent"])
        connections = {backend: runtime.tenants.names(backend) for backend in runtime.catalogue}
        labels = {(t.backend, t.name): t.label for t in runtime.tenants.all()}
        return web.render(
            request,
            "agent.html",
            who,
            agent=policy.name,
            policy=policy,
            description=console.description(policy.name),
            rows=access.rows(policy, runtime.catalogue),
            levels=access.LEVELS,
            level_names=access.LEVEL_NAMES,
            connections=connections,
            labels=labels,
            backend_titles={n: m.backend.title for n, m in runtime.catalogue.items()},
            tool_modes=access.TOOL_MODES,
            confirm_vias=access.CONFIRM_VIA,
            editable=who.may("access"),
        )

    @web.change("access")
    async def save_agent(request: Request, who: Signed, form: FormData) -> Response:
        policy = _policy_or_404(console, request.path_params["agent"])
        runtime = console.runtime
        try:
            table = access.table_from_form(
                policy, form, runtime.catalogue, runtime.tenants, console.description(policy.name)
            )
            said = console.save_policy(who, policy.name, table)
        except (access.FormProblem, ConfigError) as exc:
            raise HTTPException(400, str(exc)) from None
        return back_to(
            who,
            f"{PREFIX}/agents/{policy.name}",
            f"Saved: {'; '.join(said)}." if said else "Nothing changed.",
        )

    return agent_page, save_agent
