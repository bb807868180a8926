"""The audit's witness at the HTTP door: a ``tools/call`` POST that the SDK's transport refuses before the
MCP server ever sees it (a 2026-07-28 request whose ``Mcp-Name`` header contradicts its body, a missing
envelope, an unknown session id…) still gets its one audit record.

It wraps the ``/mcp`` route, after authentication (so the caller is a known agent and an anonymous peer
cannot fill the log), copies the request body while the SDK reads it, and — only when the answer is a 4xx
and nothing inside recorded the call (the server's own witness, ``server/witness.py``, shares the same
flag) — records the rejection through the ``CallRecorder``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..calls.context import CallContext
from ..calls.recorder import CallRecorder

log = logging.getLogger("ops_mcp.http")

MAX_BODY = 4 << 20  # the SDK refuses bigger bodies (413) before anyone can tell what they were


class HttpCallWitness:
    def __init__(self, app: Any, recorder: CallRecorder, agent: Any) -> None:
        self.app = app
        self.recorder = recorder
        self._agent = agent

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status: list[int] = []

        async def receiving() -> Any:
            message = await receive()
            if message.get("type") == "http.request" and len(body) <= MAX_BODY:
                body.extend(message.get("body", b""))
            return message

        with self.recorder.witnessing() as witness:

            async def sending(message: Any) -> None:
                if message.get("type") == "http.response.start":
                    status.append(int(message.get("status", 0)))
                elif (
                    message.get("type") == "http.response.body"
                    and not message.get("more_body")
                    and status
                    and 400 <= status[0] < 500
                    and not witness.recorded
                ):
                    # Recorded before the answer is complete: a client that saw it can already read it.
                    witness.recorded = True
                    await self._record(bytes(body), status[0])
                await send(message)

            await self.app(scope, receiving, sending)

    async def _record(self, body: bytes, status: int) -> None:
        try:
            message = json.loads(body) if len(body) <= MAX_BODY else None
        except (ValueError, RecursionError):
            return  # not JSON: nobody can tell it was a tools/call
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return
        params = message.get("params")
        params = params if isinstance(params, dict) else {"_params": params}
        try:
            call = CallContext(agent=self._agent(), transport="http")
            await self.recorder.rejected(
                call,
                tool=params.get("name"),
                arguments=params.get("arguments"),
                error=f"refused by the HTTP transport (status {status})",
                outcome="rejected_by_sdk",
            )
        except Exception:
            log.exception("could not record a tools/call refused at the HTTP door")


def witnessed(route: Any, recorder: CallRecorder, agent: Any) -> Any:
    """``route`` (the SDK's ``/mcp`` route) with its app behind the witness."""
    route.app = HttpCallWitness(route.app, recorder, agent)
    return route
