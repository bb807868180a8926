"""Handshake-era streamable HTTP: one ``application/json`` body when a request needs no back channel.

The SDK answers every handshake-era POST either with an SSE stream (the default) or, for the whole
server, with one JSON body (``json_response``), which leaves no way to send progress or a question
(elicitation) before the answer. SSE framing costs ~10% of a hosted call's CPU, and most calls never
send anything but their answer, so ops-mcp decides per request: a request that may talk back — a
``tools/call`` that asked for progress, or that may need a person's yes (a confirm-listed write, or a
meta-tool of an agent with confirm-listed writes) — streams as before; every other request is answered
with one JSON body. 2026-07-28 requests never reach this transport: the SDK already answers them with
JSON unless the handler emits something first.

The SDK has no per-request switch, so this subclasses its transport: ``is_json_response_enabled`` is
read from a context variable that the POST handler sets for the request it serves, and a JSON-mode
request's stream takes only the request's own response (anything else scoped to it has no wire, which is
what the SDK's JSON mode does too).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pydantic_core
from mcp.server.streamable_http import EventMessage, StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types import JSONRPCError, JSONRPCResponse
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

log = logging.getLogger("ops_mcp.http")

# Whether the POST being handled in this task is answered with one JSON body.
_json_body: contextvars.ContextVar[bool] = contextvars.ContextVar("ops_mcp_json_body", default=False)

# (method, params) -> whether handling it may send the client a message before the answer.
MayTalkBack = Callable[[str, dict[str, Any]], bool]

# Methods whose handling in ops-mcp never sends anything before the answer; ``tools/call`` is asked
# about. Anything else (unknown or future methods) streams, as the SDK would.
_QUIET_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
    }
)


def may_talk_back(server: Any) -> MayTalkBack:
    """The per-request question, answered from the caller's policy on ``server`` (a GovernedServer)."""

    def decide(method: str, params: dict[str, Any]) -> bool:
        if method in _QUIET_METHODS:
            return False
        if method != "tools/call":
            return True
        meta = params.get("_meta")
        if isinstance(meta, dict) and meta.get("progressToken") is not None:
            return True
        name = params.get("name")
        if not isinstance(name, str):
            return True  # malformed: the SDK answers it as it always has
        policy = server.current_policy()
        if policy is None:
            return False  # refused before anything could be asked
        endpoint = policy.endpoints.get(name)
        if endpoint is not None:
            return bool(policy.needs_confirmation(endpoint))
        # A meta-tool (``ops_call_tool`` and friends) may run any of the agent's tools.
        return bool(policy.confirm_areas or policy.confirm_tools)

    return decide


class PerRequestTransport(StreamableHTTPServerTransport):
    """The SDK's session transport, choosing JSON or SSE for each POST (see the module docstring)."""

    def __init__(self, *args: Any, may_talk_back: MayTalkBack, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._may_talk_back = may_talk_back
        self._json_requests: set[str] = set()
        self._request_streams = _RequestStreams(self._json_requests)

    @property
    def is_json_response_enabled(self) -> bool:
        return _json_body.get()

    @is_json_response_enabled.setter
    def is_json_response_enabled(self, value: bool) -> None:
        if value:
            raise ValueError("the response mode is chosen per request")

    async def _validate_accept_header(self, request: Request, scope: Scope, send: Send) -> bool:
        # Clients must accept both whatever the answer turns out to be: the SSE-mode check, always.
        token = _json_body.set(False)
        try:
            return await super()._validate_accept_header(request, scope, send)
        finally:
            _json_body.reset(token)

    async def _handle_post_request(
        self, scope: Scope, request: Request, receive: Receive, send: Send
    ) -> None:
        request_id = await self._json_request_id(request)
        if request_id is None:
            await super()._handle_post_request(scope, request, receive, send)
            return
        token = _json_body.set(True)
        self._json_requests.add(request_id)
        try:
            await super()._handle_post_request(scope, request, receive, send)
        finally:
            self._json_requests.discard(request_id)
            _json_body.reset(token)

    async def _json_request_id(self, request: Request) -> str | None:
        """The request's id (as the SDK keys its streams) when it is answered in JSON, else None."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return None  # the SDK's own checks answer it
        body = await request.body()  # Starlette keeps it: the SDK's handler reads the same bytes
        try:
            message = pydantic_core.from_json(body)
        except ValueError:
            return None
        if not isinstance(message, dict) or "id" not in message or not isinstance(message.get("method"), str):
            return None  # a notification, a response, a batch or garbage: the SDK decides
        params = message.get("params")
        if self._may_talk_back(message["method"], params if isinstance(params, dict) else {}):
            return None
        return str(message["id"])


class _RequestStreams(dict[Any, Any]):
    """The transport's per-request streams; a JSON-mode request's stream lets only its response in."""

    def __init__(self, json_requests: set[str]) -> None:
        super().__init__()
        self._json_requests = json_requests

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self._json_requests:
            value = (_ResponseOnly(value[0]), value[1])
        super().__setitem__(key, value)


class _ResponseOnly:
    """A send stream that drops everything but a JSON-RPC response (a notification has no wire here)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def send(self, item: EventMessage) -> None:
        if isinstance(item.message, JSONRPCResponse | JSONRPCError):
            await self._inner.send(item)
        else:
            log.debug("dropped a message related to a request answered with a JSON body")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def answer_quiet_requests_in_json(manager: StreamableHTTPSessionManager, decide: MayTalkBack) -> None:
    """Make ``manager``'s new handshake-era sessions choose JSON or SSE per request.

    Stateless handshake-era requests keep the SDK's SSE answers (one transport per request, built by the
    SDK); stateful sessions are what hosted clients use.
    """
    if manager.json_response:
        return  # JSON for everything was asked for: nothing to decide

    def admit(requestor: Any) -> StreamableHTTPServerTransport | None:
        # The SDK's ``_admit_session``, building this module's transport.
        if manager.max_sessions is not None and len(manager._server_instances) >= manager.max_sessions:
            return None
        transport = PerRequestTransport(
            mcp_session_id=uuid4().hex,
            event_store=manager.event_store,
            security_settings=manager.security_settings,
            retry_interval=manager.retry_interval,
            idle_timeout=manager.session_idle_timeout,
            may_talk_back=decide,
        )
        session_id = transport.mcp_session_id
        assert session_id is not None
        if requestor is not None:
            manager._session_owners[session_id] = requestor
        manager._server_instances[session_id] = transport
        log.debug("created session %s", session_id)
        return transport

    manager._admit_session = admit  # type: ignore[method-assign]
