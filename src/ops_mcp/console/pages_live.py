"""The live view (``/admin/live``): reload the page to refresh it; no script, no polling."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import live


def routes(console: Any) -> list[Route]:
    web = console.web

    async def page(request: Request) -> Response:
        who = web.require(request)
        runtime = console.runtime
        return web.render(
            request,
            "live.html",
            who,
            feeds=runtime.events.feed_counts(),
            budgets=live.budgets(runtime.upstream),
            health=live.health(runtime.upstream, list(runtime.catalogue)),
            denials=live.denials(runtime.audit),
            rejections=runtime.events.rejection_totals(),
        )

    return [Route("/live", page, methods=["GET"])]
