"""The audit's witness at the door: every ``tools/call`` the server receives leaves exactly one record.

The SDK refuses some calls before any of our code runs — a forged or malformed ``requestState``,
``arguments`` that are a list or a string, a missing or non-string ``name``, a params object that is
not an object — and answers the client itself. This middleware sits outermost in the server's chain
(before the SDK's request-state boundary and params validation), lets the call through, and when no
record was started on the way (the executor, discovery, the events feed and the admission limits all
record through the ``CallRecorder``), records the rejection: who, the tool name when there is one, the
arguments (redacted and bounded like any others) and why.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..calls.context import CallContext
from ..calls.recorder import CallRecorder

log = logging.getLogger("ops_mcp.server")

MAX_REASON = 300


class CallWitness:
    def __init__(
        self, recorder: CallRecorder, agent: Callable[[], str | None], transport: Callable[[Any], str]
    ) -> None:
        self.recorder = recorder
        self._agent = agent
        self._transport = transport

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if getattr(ctx, "method", None) != "tools/call":
            return await call_next(ctx)
        with self.recorder.witnessing() as witness:
            try:
                result = await call_next(ctx)
            except BaseException as exc:
                if not witness.recorded:
                    await self._record(ctx, exc, cancelled=not isinstance(exc, Exception))
                raise
            if not witness.recorded:
                await self._record(ctx, None, cancelled=False)
            return result

    async def _record(self, ctx: Any, exc: BaseException | None, *, cancelled: bool) -> None:
        params = ctx.params if isinstance(ctx.params, Mapping) else {"_params": ctx.params}
        reason = _reason(exc) if not cancelled else "cancelled before any tool ran"
        outcome = "refused:invalid_state" if "requeststate" in reason.lower() else "rejected_by_sdk"
        try:
            agent = self._agent()
        except Exception:
            agent = None
        call = CallContext(agent=agent, transport=self._transport(ctx))
        try:
            await self.recorder.rejected(
                call,
                tool=params.get("name"),
                arguments=params.get("arguments"),
                error=reason,
                outcome=outcome,
                nowait=cancelled,
            )
        except Exception:  # never turn a refusal into a crash; the log says what was lost
            log.exception("could not record a rejected tools/call")


def _reason(exc: BaseException | None) -> str:
    """Why the SDK refused the call, without echoing the values it was sent."""
    if exc is None:
        return "answered without reaching a tool"
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic ValidationError: where and what, never the input itself
        try:
            found = errors(include_url=False, include_input=False, include_context=False)
            parts = [
                f"{'.'.join(str(p) for p in e.get('loc', ())) or 'params'}: {e.get('msg', '')}"
                for e in found[:5]
            ]
            return ("malformed tools/call params: " + "; ".join(parts))[:MAX_REASON]
        except Exception:
            pass
    message = (
        getattr(exc, "message", None) or getattr(getattr(exc, "error", None), "message", None) or str(exc)
    )
    return f"{type(exc).__name__}: {message}"[:MAX_REASON]
