"""Headers every RemoteOps response carries: `Request-Id`, and the rate-limit headers once known."""

from __future__ import annotations

import uuid

from ops_mcp.sandbox.common.faults import ASGIApp, Message, Receive, Scope, Send


class ApiHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + uuid.uuid4().hex[:20]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {"request-id": request_id, **{k.lower(): v for k, v in state.get("rate_headers", {}).items()}}
                for name, value in extra.items():
                    if name.encode() not in names:
                        headers.append((name.encode(), str(value).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)
