"""A tiny emulator of the toy back end: widgets behind a bearer token, page-numbered lists whose field
names differ from Remote's (``pageNumber`` / ``pages`` / ``count``), problem+json errors."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "toy_test_4f1c2b9e7d"


def create_app() -> Starlette:
    widgets: dict[str, dict[str, Any]] = {
        f"wid_{n:03d}": {"id": f"wid_{n:03d}", "name": f"Widget {n}", "colour": "blue" if n % 2 else "red"}
        for n in range(1, 24)
    }
    requests: list[tuple[str, str]] = []

    def refused(request: Request) -> JSONResponse | None:
        requests.append((request.method, request.url.path))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _problem(401, "unauthorized", "Bearer token missing or wrong.")
        return None

    async def list_widgets(request: Request) -> JSONResponse:
        if (error := refused(request)) is not None:
            return error
        page = int(request.query_params.get("pageNumber", "1"))
        size = min(int(request.query_params.get("perPage", "5")), 10)
        rows = sorted(widgets.values(), key=lambda w: w["id"])
        pages = max(1, -(-len(rows) // size))
        items = rows[(page - 1) * size: page * size]
        return JSONResponse({"items": items, "pageNumber": page, "pages": pages, "count": len(rows)})

    async def get_widget(request: Request) -> JSONResponse:
        if (error := refused(request)) is not None:
            return error
        widget = widgets.get(request.path_params["widget_id"])
        if widget is None:
            return _problem(404, "not_found", "No such widget.")
        return JSONResponse(widget)

    async def create_widget(request: Request) -> JSONResponse:
        if (error := refused(request)) is not None:
            return error
        body = await request.json()
        widget = {"id": f"wid_{len(widgets) + 1:03d}", "name": body["name"], "colour": body.get("colour", "blue")}
        widgets[widget["id"]] = widget
        return JSONResponse(widget, status_code=201)

    app = Starlette(routes=[
        Route("/widgets", list_widgets, methods=["GET"]),
        Route("/widgets", create_widget, methods=["POST"]),
        Route("/widgets/{widget_id}", get_widget, methods=["GET"]),
    ])
    app.state.requests = requests
    return app


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": f"https://toy.example/problems/{code}", "title": code, "status": status,
                         "detail": detail, "code": code}, status_code=status, media_type="application/problem+json")
