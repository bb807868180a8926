"""``tools/list_changed`` after an access edit reaches the edited agent's 2026 listen streams, and no other's.

Both agents hold a real ``subscriptions/listen`` stream opened by the SDK ``Client``. What reached each
stream's listener on the server is recorded as it is delivered: once people-ops's client has its event, the
one publish that carried it is over, so hr-desk's record is complete — no waiting for something not to come.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ToolsListChanged

from ops_mcp.server.agent_bus import AgentScopedBus
from tests.support.loopback import mcp_http_client

from .support import HttpSession, in_thread


class Listening:
    """An agent's open listen stream in a thread of its own; ``event`` is the first event it heard."""

    def __init__(self, base: str, token: str, *, wait_for_one: bool) -> None:
        self.base, self.token, self.wait_for_one = base, token, wait_for_one
        self.ready, self.done = threading.Event(), threading.Event()
        self.event: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)

    def start(self) -> Listening:
        self.thread.start()
        assert self.ready.wait(60), self.error
        return self

    def _run(self) -> None:
        try:
            in_thread(self._listen)
        except BaseException as error:  # handed to the test through `error`
            self.error = error
            self.ready.set()

    async def _listen(self) -> None:
        http = mcp_http_client(self.token)
        client = Client(streamable_http_client(f"{self.base}/mcp", http_client=http), mode="2026-07-28")
        async with client as c, c.listen(tools_list_changed=True) as sub:
            assert sub.honored.tools_list_changed
            self.ready.set()
            if self.wait_for_one:
                with anyio.fail_after(60):  # a bound on a hang, not a speed expectation
                    self.event = await sub.__anext__()
            else:
                await anyio.to_thread.run_sync(self.done.wait, 90)


def test_an_access_edit_is_announced_to_the_edited_agents_stream_only(served, monkeypatch):
    bus = served.app.state.ops.notifier.bus
    assert isinstance(bus, AgentScopedBus)
    heard: list[tuple[str | None, Any]] = []
    subscribe = bus.subscribe

    def recording(listener: Any) -> Any:
        owner = bus.resolve_agent()

        def deliver(event: Any) -> None:
            heard.append((owner, event))
            listener(event)

        return subscribe(deliver)

    monkeypatch.setattr(bus, "subscribe", recording)
    other = Listening(served.url, served.tokens["hr-desk"], wait_for_one=False).start()
    edited = Listening(served.url, served.tokens["people-ops"], wait_for_one=True).start()
    try:
        assert bus.listeners_of("hr-desk") == 1 and bus.listeners_of("people-ops") == 1
        admin = HttpSession(served.url, "dana", served.passwords["dana"])
        assert admin.post("/admin/agents/people-ops", {"level:remote.timeoff": "read"}).status_code == 303
        edited.thread.join(90)
        assert edited.error is None and edited.event == ToolsListChanged()
        assert heard == [("people-ops", ToolsListChanged())]  # hr-desk's stream heard nothing
    finally:
        other.done.set()
        other.thread.join(90)
    assert other.error is None


@pytest.mark.anyio
async def test_publish_reaches_every_stream_and_publish_to_only_the_agents_own():
    current: list[str | None] = ["a"]
    bus = AgentScopedBus(lambda: current[0])
    got: dict[str, list[Any]] = {"a": [], "b": [], "none": []}
    bus.subscribe(got["a"].append)
    current[0] = "b"
    unsubscribe_b = bus.subscribe(got["b"].append)
    current[0] = None
    bus.subscribe(got["none"].append)  # a stream with no verified agent is nobody's
    await bus.publish_to("a", ToolsListChanged())
    assert got == {"a": [ToolsListChanged()], "b": [], "none": []}
    await bus.publish(ToolsListChanged())
    assert [len(v) for v in got.values()] == [2, 1, 1]
    unsubscribe_b()
    unsubscribe_b()  # idempotent, as the SDK's bus
    await bus.publish_to("b", ToolsListChanged())
    assert len(got["b"]) == 1 and bus.listeners_of("b") == 0


@pytest.mark.anyio
async def test_an_open_stream_stops_hearing_of_a_feed_its_agent_no_longer_may_read(served):
    from mcp.shared.subscriptions import ResourceUpdated

    notifier = served.app.state.ops.notifier
    feeds = sorted(u for u in notifier.feed.uris(served.runtime.policies["hr-desk"]) if "remote.timeoff" in u)
    assert feeds, "hr-desk reads a time-off feed"
    update = ResourceUpdated(uri=feeds[0])
    current: list[str | None] = ["hr-desk"]
    bus = AgentScopedBus(lambda: current[0], admits=notifier.admits)
    heard: list[Any] = []
    bus.subscribe(heard.append)  # hr-desk's stream, opened while it may read the feed
    current[0] = "people-ops"
    bus.subscribe(heard.append)  # people-ops never could
    await bus.publish(update)
    assert heard == [update]
    admin = HttpSession(served.url, "dana", served.passwords["dana"])
    saved = await anyio.to_thread.run_sync(
        lambda: admin.post("/admin/agents/hr-desk", {"level:remote.timeoff": "off"})
    )
    assert saved.status_code == 303
    await bus.publish(update)
    assert heard == [update]  # the stream opened before the edit hears nothing more of that feed
    await bus.publish(ToolsListChanged())
    assert heard == [update, ToolsListChanged(), ToolsListChanged()]  # other kinds: as before
