"""What the first call needs is loaded in the background once the server is idle, built once, and usable."""

from __future__ import annotations

import threading
from typing import Any

import mcp_types as t
import pytest

from ops_mcp.transports.stdio_pipes import _FirstListing
from ops_mcp.upstream.lazy import LazyUpstream
from ops_mcp.warmup import start_warm_up
from tests.support.runtime import make_server

WAIT_S = 60  # a bound on a loaded machine, not an expectation


@pytest.mark.anyio
async def test_a_warmed_up_runtime_serves_calls_with_the_client_built_in_the_background(make_runtime) -> None:
    runtime = make_runtime()
    assert not runtime.upstream.built
    start_warm_up(runtime).join(WAIT_S)
    assert runtime.upstream.built
    built = runtime.upstream.client
    result = await make_server(runtime, "people-ops").call_tool("remote_list_employments", {"page_size": 2})
    assert not result.is_error, result.content[0].text
    assert len(result.structured_content["employments"]) == 2
    assert runtime.upstream.client is built  # the call used it; nothing was built twice


def test_a_call_arriving_during_the_build_waits_for_the_same_client() -> None:
    building, release = threading.Event(), threading.Event()
    built: list[Any] = []

    class Client:
        def warm(self) -> None:
            pass

    def factory() -> Any:
        building.set()
        release.wait(WAIT_S)
        built.append(Client())
        return built[-1]

    lazy = LazyUpstream(factory)
    warming = threading.Thread(target=lazy.warm)
    warming.start()
    assert building.wait(WAIT_S)
    seen: list[Any] = []
    caller = threading.Thread(target=lambda: seen.append(lazy.client))
    caller.start()
    release.set()
    warming.join(WAIT_S)
    caller.join(WAIT_S)
    assert len(built) == 1 and seen == built


def test_the_warm_up_starts_after_the_first_tools_list_answer_is_written() -> None:
    started: list[str] = []
    listing = _FirstListing(lambda: started.append("warm"))
    listing.read(t.JSONRPCRequest(jsonrpc="2.0", id=1, method="initialize", params={}))
    listing.written(t.JSONRPCResponse(jsonrpc="2.0", id=1, result={}))
    listing.read(t.JSONRPCRequest(jsonrpc="2.0", id=2, method="tools/list", params={}))
    assert started == []  # read, not yet answered
    listing.written(t.JSONRPCNotification(jsonrpc="2.0", method="notifications/message", params={}))
    assert started == []
    listing.written(t.JSONRPCResponse(jsonrpc="2.0", id=2, result={"tools": []}))
    assert started == ["warm"]
    listing.read(t.JSONRPCRequest(jsonrpc="2.0", id=3, method="tools/list", params={}))
    listing.written(t.JSONRPCResponse(jsonrpc="2.0", id=3, result={"tools": []}))
    assert started == ["warm"]  # once
