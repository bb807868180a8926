"""Confirmation over real streamable HTTP: stateless legacy sessions have no back channel to ask on."""

from __future__ import annotations

import mcp_types as t
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ops_mcp.runtime import build_runtime
from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.support.loopback import mcp_http_client

from .ops_harness import HR_CONFIRM, requested_timeoff, served, settings_for, writes

pytestmark = pytest.mark.anyio


async def accept(ctx, params):
    return t.ElicitResult(action="accept", content={"confirm": True})


@pytest.mark.parametrize(
    ("stateless", "mode", "expect_pending"),
    [
        (True, "legacy", True),  # no back channel: fall back to a pending approval
        (False, "legacy", False),  # stateful session: asked at once
        (True, "2026-07-28", False),  # input-required round with a sealed state
    ],
)
async def test_elicitation_over_http(tmp_path, stateless, mode, expect_pending):
    runtime = build_runtime(settings_for(tmp_path / "state", {"hr": HR_CONFIRM}))
    token = AgentTokenStore(runtime.state_dir).issue("hr")
    args, _ = requested_timeoff(runtime)
    with served(runtime, stateless=stateless) as url:
        http = mcp_http_client(token)
        async with Client(
            streamable_http_client(url, http_client=http), mode=mode, elicitation_callback=accept
        ) as client:
            result = await client.call_tool("remote_approve_timeoff", args)
    if expect_pending:
        assert result.is_error and result.structured_content["status"] == "pending_approval"
        assert writes(runtime, "remote") == []
    else:
        assert not result.is_error, result.content[0].text
        assert len(writes(runtime, "remote", "/approve")) == 1
