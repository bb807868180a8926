"""Streamable HTTP answers a request that needs no back channel with one JSON body, and streams one that
may talk back (progress asked for, a confirm-listed write), in both protocol eras, through the SDK Client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as t
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.streamable_http import EventMessage

from ops_mcp.runtime import build_runtime
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.response_mode import _RequestStreams, may_talk_back
from tests.confirmation.ops_harness import HR_CONFIRM, requested_timeoff, served, settings_for, writes
from tests.support.runtime import ERAS, make_server

pytestmark = pytest.mark.anyio

READER = {"areas": {"remote.employments": "read"}, "tool_mode": "static"}


@contextmanager
def hr_server(
    tmp_path: Path, agent: dict[str, Any], *, stateless: bool = False
) -> Iterator[tuple[Any, str, str]]:
    runtime = build_runtime(settings_for(tmp_path / "state", {"hr": agent}))
    token = AgentTokenStore(runtime.state_dir).issue("hr")
    with served(runtime, stateless=stateless) as url:
        yield runtime, url, token


class Answers:
    """The content type of every answer to a JSON-RPC request, by its method (and tool name)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def hook(self, response: httpx2.Response) -> None:
        request = response.request
        if request.method != "POST":
            return
        body = json.loads(request.content)
        if "id" not in body or "method" not in body:
            return  # a notification or the client's answer to a question: 202, no body
        name = body["method"] + (f" {body['params']['name']}" if body["method"] == "tools/call" else "")
        self.seen.append((name, response.headers.get("content-type", "").split(";")[0]))

    def of(self, name: str) -> list[str]:
        return [kind for method, kind in self.seen if method == name]


def client_for(url: str, token: str, mode: str, answers: Answers, **options: Any) -> Client:
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=30, event_hooks={"response": [answers.hook]}
    )
    return Client(streamable_http_client(url, http_client=http), mode=mode, **options)


async def first_employment(client: Client) -> str:
    listed = await client.call_tool("remote_list_employments", {"page_size": 1})
    assert not listed.is_error, listed.content[0].text
    return str(listed.structured_content["employments"][0]["id"])


@pytest.mark.parametrize("mode", ERAS)
async def test_a_read_call_is_one_json_body(tmp_path: Path, mode: str) -> None:
    answers = Answers()
    with hr_server(tmp_path, READER) as (_, url, token):
        async with client_for(url, token, mode, answers) as client:
            tools = await client.list_tools()
            employment = await first_employment(client)
            result = await client.call_tool("remote_get_employment", {"employment_id": employment})
    assert "remote_get_employment" in {tool.name for tool in tools.tools}
    assert not result.is_error, result.content[0].text
    assert employment in json.dumps(result.structured_content)
    assert answers.of("tools/call remote_get_employment") == ["application/json"]
    assert answers.of("tools/list") == ["application/json"]
    if mode == "legacy":
        assert answers.of("initialize") == ["application/json"]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_call_that_asked_for_progress_streams_it(tmp_path: Path, mode: str) -> None:
    answers = Answers()
    reported: list[float] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        reported.append(done)

    with hr_server(tmp_path, READER) as (_, url, token):
        async with client_for(url, token, mode, answers) as client:
            result = await client.call_tool(
                "remote_list_employments", {"max_items": 3, "page_size": 1}, progress_callback=progress
            )
            plain = await client.call_tool("remote_list_employments", {"max_items": 3, "page_size": 1})
    assert not result.is_error, result.content[0].text
    assert len(result.structured_content["employments"]) == 3
    assert reported == [1, 2, 3]
    assert len(plain.structured_content["employments"]) == 3
    assert answers.of("tools/call remote_list_employments") == ["text/event-stream", "application/json"]


async def accept(ctx: Any, params: Any) -> t.ElicitResult:
    return t.ElicitResult(action="accept", content={"confirm": True})


async def test_a_confirm_listed_write_still_asks_over_its_stream(tmp_path: Path) -> None:
    """Handshake era, stateful: the question travels on the call's SSE stream; the person's yes lets it through.
    (2026-07-28 asks with an InputRequiredResult, which is an answer: tests/confirmation cover it.)"""
    answers = Answers()
    asked: list[str] = []

    async def accept_and_note(ctx: Any, params: Any) -> t.ElicitResult:
        asked.append(params.message)
        return await accept(ctx, params)

    with hr_server(tmp_path, HR_CONFIRM) as (runtime, url, token):
        args, _ = requested_timeoff(runtime)
        async with client_for(url, token, "legacy", answers, elicitation_callback=accept_and_note) as client:
            result = await client.call_tool("remote_approve_timeoff", args)
            employment = await first_employment(client)
            read = await client.call_tool("remote_get_employment", {"employment_id": employment})
    assert not result.is_error, result.content[0].text
    assert len(asked) == 1 and len(writes(runtime, "remote", "/approve")) == 1
    assert answers.of("tools/call remote_approve_timeoff") == ["text/event-stream"]
    assert not read.is_error
    assert answers.of("tools/call remote_get_employment") == ["application/json"]


async def test_stateless_handshake_sessions_keep_the_sdk_answers(tmp_path: Path) -> None:
    answers = Answers()
    with hr_server(tmp_path, READER, stateless=True) as (_, url, token):
        async with client_for(url, token, "legacy", answers) as client:
            employment = await first_employment(client)
            result = await client.call_tool("remote_get_employment", {"employment_id": employment})
    assert not result.is_error
    assert answers.of("tools/call remote_get_employment") == ["text/event-stream"]


def test_what_may_talk_back(tmp_path: Path) -> None:
    runtime = build_runtime(settings_for(tmp_path / "state", {"hr": HR_CONFIRM, "reader": READER}))
    decide = {agent: may_talk_back(make_server(runtime, agent)) for agent in ("hr", "reader")}
    call = "tools/call"
    assert not decide["hr"]("tools/list", {})
    assert not decide["hr"](call, {"name": "remote_get_employment", "arguments": {}})
    assert decide["hr"](call, {"name": "remote_approve_timeoff", "arguments": {}})  # confirm-listed
    assert decide["hr"](call, {"name": "ops_call_tool", "arguments": {}})  # a meta-tool may run it
    assert not decide["reader"](call, {"name": "ops_call_tool", "arguments": {}})  # nothing to confirm
    assert decide["reader"](call, {"name": "remote_get_employment", "_meta": {"progressToken": 7}})
    assert decide["reader"]("sampling/whatever", {})  # unknown methods stream, as the SDK would
    runtime.audit.close() if hasattr(runtime, "audit") else None


async def test_a_json_answered_request_takes_only_its_response() -> None:
    """Defence in depth: a notification scoped to a JSON-answered request has no wire and is dropped."""
    json_requests = {"1"}
    streams = _RequestStreams(json_requests)
    streams["1"] = anyio.create_memory_object_stream[EventMessage](4)
    streams["2"] = anyio.create_memory_object_stream[EventMessage](4)
    note = t.JSONRPCNotification(jsonrpc="2.0", method="notifications/progress", params={"progress": 1})
    answer = t.JSONRPCResponse(jsonrpc="2.0", id=1, result={})
    for key in ("1", "2"):
        await streams[key][0].send(EventMessage(note))
        await streams[key][0].send(EventMessage(answer))
    assert streams["1"][1].receive_nowait().message is answer
    assert streams["2"][1].receive_nowait().message is note  # a streamed request keeps everything
    for send, receive in streams.values():
        await send.aclose()
        receive.close()
