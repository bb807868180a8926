"""Admission to the MCP routes per agent and credential, and closing everything an agent holds open.

``AdmissionMiddleware`` sits after authentication on ``/mcp``, ``/sse`` and ``/messages/``. It sorts each
authenticated request into opening a session (a handshake-era POST without ``Mcp-Session-Id``, or ``GET
/sse``), an open stream (``GET /mcp``, a 2026 ``subscriptions/listen``) or a call (everything else), asks the
``Ledger`` (``limits.py``) for room, and answers ``429`` with ``Retry-After`` and a JSON-RPC error body when
there is none — before the SDK parses anything, so a refused request costs next to nothing and another
agent never notices. ``HandlerLimit`` counts MCP requests in the server itself, where a call can outlive its
HTTP request (SSE's 202, a client that hung up).

``AgentConnections.close_agent(agent)`` ends every session and open request of an agent: streams stop,
in-flight requests are cancelled. The token-store watcher (``revocation.py``) calls it when a token is
revoked or replaced; a later fan-out between replicas (Redis) can call the same method.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Literal

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from ..config import ServerLimits
from ..logthrottle import ThrottledLog
from .limits import Ledger, Principal, Refused, Session, principal_of

log = logging.getLogger("ops_mcp.http")

# An implementation-defined JSON-RPC server error (-32000..-32099): the request was refused unheard because
# the caller holds too much open. HTTP says the same with 429 and Retry-After.
LIMIT_EXCEEDED = -32029
MCP_PATHS = ("/mcp", "/sse", "/messages")
_SSE_SESSION = re.compile(rb"session_id=([0-9a-f]{32})")


def is_mcp_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in MCP_PATHS)


class AgentConnections:
    """The sessions and open requests of every agent in this process, and the one way to close them."""

    def __init__(self, limits: ServerLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = Ledger(limits, clock)
        self._open: dict[Principal, set[anyio.CancelScope]] = {}
        self._manager: Any = None
        self._http_sessions: dict[str, Any] | None = None  # the SDK session manager's live sessions
        self.refusals = ThrottledLog(every=10.0)

    def attach(self, session_manager: Any) -> None:
        """Follow the streamable-HTTP sessions of the SDK's session manager (which keeps them by id).

        The manager has no public way to list or end a session; its id → transport map and its own discard
        (forget the id, then terminate the transport) are used, pinned by ``mcp>=2.3,<3``.
        """
        self._manager = session_manager
        self._http_sessions = session_manager._server_instances

    async def close_agent(self, agent: str, *, credential: str | None = None) -> int:
        """End every session and open request of ``agent`` (only those of ``credential``, if given).

        Returns how many were closed. Safe to call from any task of this event loop, for any agent, any
        number of times: it is what a revocation (here, or fanned out from another replica) triggers.
        """
        def matches(principal: Principal) -> bool:
            return principal.agent == agent and (credential is None or principal.credential == credential)

        scopes = [s for principal in [p for p in self._open if matches(p)] for s in self._open.pop(principal)]
        for scope in scopes:
            scope.cancel()
        sessions = [s for s in self.ledger.sessions_of(agent) if matches(s.principal)]
        for session in sessions:
            self.ledger.ended(session.key)
        for session in sessions:
            await _close(session)
        if scopes or sessions:
            log.warning("closed %d session(s) and %d open request(s) of agent %s", len(sessions), len(scopes), agent)
        return len(scopes) + len(sessions)

    async def expire_crowded(self) -> int:
        """End the idle sessions of credentials and agents at their session limit (see ``Ledger``)."""
        self.forget_ended_sessions()
        expired = self.ledger.crowded_idle()
        for session in expired:
            await _close(session)
        if expired:
            log.info("ended %d idle session(s) of agents at their session limit", len(expired))
        return len(expired)

    def open_requests(self, agent: str) -> int:
        return sum(len(scopes) for principal, scopes in self._open.items() if principal.agent == agent)

    def holders(self) -> list[Principal]:
        """Every principal that has a session or an open request here."""
        found = {**{p: None for p in self._open}, **{s.principal: None for s in self.ledger.sessions.values()}}
        return list(found)

    # -- used by the middleware ------------------------------------------------------------------

    def track(self, principal: Principal, scope: anyio.CancelScope) -> None:
        self._open.setdefault(principal, set()).add(scope)

    def untrack(self, principal: Principal, scope: anyio.CancelScope) -> None:
        scopes = self._open.get(principal)
        if scopes is not None:
            scopes.discard(scope)
            if not scopes:
                self._open.pop(principal, None)

    def forget_ended_sessions(self) -> None:
        live = self._http_sessions
        if live is not None:
            self.ledger.forget_missing(lambda key: not key.startswith("http:") or key[5:] in live)

    def http_closer(self, session_id: str) -> Any:
        async def close() -> None:
            transport = (self._http_sessions or {}).get(session_id)
            if transport is not None:
                # The id answers 404 from now on; terminating the transport ends the session's server loop.
                await self._manager._discard_session(session_id, transport)
        return close


async def _close(session: Session) -> None:
    if session.close is None:
        return
    try:
        with anyio.CancelScope(shield=True):
            await session.close()
    except Exception:  # a session that is already gone
        log.debug("closing session %s failed", session.key, exc_info=True)


class AdmissionMiddleware:
    def __init__(self, app: Any, connections: AgentConnections, stateless: bool = False) -> None:
        self.app = app
        self.connections = connections
        self.stateless = stateless

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        if not isinstance(user, AuthenticatedUser) or not is_mcp_path(scope["path"]):
            await self.app(scope, receive, send)  # not ours, or unauthenticated: the route answers 401
            return
        principal = principal_of(user.access_token)
        connections = self.connections
        connections.forget_ended_sessions()
        kind = self._classify(scope)
        try:
            if kind == "sse":
                await self._sse_session(principal, scope, receive, send)
            elif kind == "open":
                await self._open_session(principal, scope, receive, send)
            else:
                connections.ledger.begin(principal, kind)
                try:
                    await self._served(principal, scope, receive, send, session=_session_key(scope))
                finally:
                    connections.ledger.end(principal, kind)
        except Refused as refused:
            self._log_refusal(principal, refused)
            await _refuse(refused, send)

    def _classify(self, scope: Any) -> Literal["sse", "open", "call", "stream"]:
        method, path = scope["method"], scope["path"]
        if path == "/sse":
            return "sse"
        if path != "/mcp":
            return "call"
        if method == "GET":
            return "stream"
        headers = _headers(scope)
        if headers.get(b"mcp-method") == b"subscriptions/listen":
            return "stream"
        version = headers.get(b"mcp-protocol-version")
        handshake = version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS
        if method == "POST" and handshake and b"mcp-session-id" not in headers and not self.stateless:
            return "open"
        return "call"

    async def _open_session(self, principal: Principal, scope: Any, receive: Any, send: Any) -> None:
        """A handshake-era POST without a session id: the SDK opens a session if it is an initialize."""
        ledger = self.connections.ledger
        ledger.begin(principal, "call")
        try:
            place, evicted = ledger.reserve_session(principal)
            for session in evicted:
                await _close(session)
            answer: dict[str, Any] = {}

            async def watch(message: Any) -> None:
                if message["type"] == "http.response.start":
                    answer["status"] = message["status"]
                    answer["session"] = dict(message.get("headers") or []).get(b"mcp-session-id")
                await send(message)

            closed = False
            try:
                closed = await self._served(principal, scope, receive, watch)
            finally:
                session_id = answer.get("session")
                if answer.get("status", 500) < 400 and session_id:
                    sid = session_id.decode("latin-1")
                    session = ledger.bind(place, f"http:{sid}", self.connections.http_closer(sid))
                    if closed:  # revoked while the session was being opened: it must not outlive this
                        ledger.ended(session.key)
                        await _close(session)
                else:
                    ledger.release(place)
        finally:
            ledger.end(principal, "call")

    async def _sse_session(self, principal: Principal, scope: Any, receive: Any, send: Any) -> None:
        """``GET /sse``: the session lasts as long as this response; its id is in the first event."""
        ledger = self.connections.ledger
        place, evicted = ledger.reserve_session(principal)
        for session in evicted:
            await _close(session)
        bound: list[Session] = []
        cancel = anyio.CancelScope()

        async def close() -> None:
            cancel.cancel()

        async def watch(message: Any) -> None:
            if not bound and message["type"] == "http.response.body":
                found = _SSE_SESSION.search(message.get("body") or b"")
                if found:  # the stream itself does not make the session busy: its messages do
                    bound.append(ledger.bind(place, f"sse:{found.group(1).decode()}", close))
            await send(message)

        try:
            await self._served(principal, scope, receive, watch, cancel=cancel)
        finally:
            if bound:
                ledger.ended(bound[0].key)
            else:
                ledger.release(place)

    async def _served(self, principal: Principal, scope: Any, receive: Any, send: Any, *,
                      session: str | None = None, cancel: anyio.CancelScope | None = None) -> bool:
        """Run the app for this request, cancellable by ``close_agent`` (and ``cancel``); True if it was."""
        connections = self.connections
        progress = {"started": False, "finished": False}

        async def tracked(message: Any) -> None:
            if message["type"] == "http.response.start":
                progress["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                progress["finished"] = True
            await send(message)

        scope_ = cancel or anyio.CancelScope()
        connections.track(principal, scope_)
        held = connections.ledger.sessions.get(session) if session is not None else None
        if held is None or held.principal.credential != principal.credential:
            session = None  # someone else's (or no) session: the SDK answers 404; it must not look busy
        if session is not None:
            connections.ledger.session_busy(session, +1)
        try:
            with scope_:
                await self.app(scope, receive, tracked)
        finally:
            connections.untrack(principal, scope_)
            if session is not None:
                connections.ledger.session_busy(session, -1)
        if scope_.cancelled_caught:
            await _finish_closed(progress, send)
            return True
        return False

    def _log_refusal(self, principal: Principal, refused: Refused) -> None:
        held = self.connections.refusals.admit((principal.agent, refused.message[:40]))
        if held is not None:
            more = f" ({held} more not logged)" if held else ""
            log.warning("refused a request of agent %s: %s%s", principal.agent, refused.message, more)


def _session_key(scope: Any) -> str | None:
    if scope["path"].startswith("/messages"):
        found = _SSE_SESSION.search(scope.get("query_string") or b"")
        return f"sse:{found.group(1).decode()}" if found else None
    value = _headers(scope).get(b"mcp-session-id")
    return f"http:{value.decode('latin-1')}" if value else None


def _headers(scope: Any) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


async def _refuse(refused: Refused, send: Any) -> None:
    import json

    body = json.dumps({"jsonrpc": "2.0", "id": None,
                       "error": {"code": LIMIT_EXCEEDED, "message": refused.message}}).encode()
    await send({"type": "http.response.start", "status": refused.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(refused.retry_after).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _finish_closed(progress: dict[str, bool], send: Any) -> None:
    """The request was closed under the client (its agent's credential was revoked): end it cleanly."""
    try:
        if not progress["started"]:
            body = b'{"error": "invalid_token", "error_description": "the credential was revoked"}'
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        elif not progress["finished"]:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except Exception:  # the connection is already gone
        return


class HandlerLimit:
    """Server middleware: MCP requests being handled per agent and credential (``calls_*`` limits).

    Refused requests get a JSON-RPC error; a refused ``tools/call`` is also written to the audit log, like
    every call that reaches the server (``on_refused_call``).
    """

    EXEMPT = frozenset({"initialize", "ping", "subscriptions/listen"})

    def __init__(self, ledger: Ledger, on_refused_call: Callable[[Principal, Any, str], None] | None = None) -> None:
        self.ledger = ledger
        self.on_refused_call = on_refused_call

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        token = get_access_token()
        if ctx.request_id is None or ctx.method in self.EXEMPT or token is None:
            return await call_next(ctx)  # notifications, the handshake, stdio and in-process callers
        principal = principal_of(token)
        try:
            self.ledger.begin(principal, "handler")
        except Refused as refused:
            if ctx.method == "tools/call" and self.on_refused_call is not None:
                self.on_refused_call(principal, ctx, refused.message)
            raise MCPError(code=LIMIT_EXCEEDED, message=refused.message) from None
        try:
            return await call_next(ctx)
        finally:
            self.ledger.end(principal, "handler")
