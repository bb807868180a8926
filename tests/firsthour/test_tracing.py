"""OpenTelemetry traces: off unless configured (no SDK import, no middleware); on, a tool call is one
``tools/call <tool>`` server span with the MCP convention's attributes, its parent from ``params._meta``,
and child spans for policy, confirmation, upstream (one HTTP client span per attempt) and audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import mcp_types as t
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ops_mcp.config import ConfigError, Settings
from ops_mcp.runtime import build_runtime
from ops_mcp.telemetry import configure_tracing
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.http import create_app
from tests.support.loopback import free_port, mcp_http_client, serve_app

from .conftest import BACKENDS

pytest.importorskip("opentelemetry.sdk", reason="OpenTelemetry's SDK is not installed (the otel extra)")

from .otel_support import memory_exporter, recording, tree  # noqa: E402

HR = {"areas": {"remote.timeoff": "full", "remote.employments": "read"}, "confirm": ["remote.timeoff"],
      "confirm_via": "client", "tool_mode": "static"}
TRACEPARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans():
    with recording() as exporter:
        yield exporter


@pytest.fixture
def no_otel_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)


def settings(tmp_path: Path, *, traced: bool) -> Settings:
    extra = {"telemetry": {"enabled": True}} if traced else {}
    return Settings(storage={"dir": str(tmp_path / "state")}, backends=BACKENDS, agents={"hr": HR}, **extra)


def requested_timeoff(runtime) -> dict[str, str]:
    data = runtime.sandbox_app.state.remote.state.sandbox.data
    acme = next(c["id"] for c in data["companies"].values() if c["name"] == "Acme GmbH")
    timeoff = next(x for x in data["timeoffs"].values() if x["status"] == "requested"
                   and data["employments"][x["employment_id"]]["_company_id"] == acme)
    manager = next(m["user_id"] for m in data["managers"].values() if m["_company_id"] == acme)
    return {"timeoff_id": timeoff["id"], "approver_id": manager}


def test_off_by_default_imports_no_sdk_and_installs_no_middleware(tmp_path: Path, no_otel_env) -> None:
    code = (
        "import sys\n"
        "from ops_mcp.config import Settings\n"
        "from ops_mcp.runtime import build_runtime\n"
        f"runtime = build_runtime(Settings(storage={{'dir': {str(tmp_path / 's')!r}}}, agents={{'hr': {HR!r}}}))\n"
        "server = runtime.mcp_server(resolve_agent=lambda: 'hr', transport='stdio')\n"
        "print(runtime.tracing, [type(m).__name__ for m in server.middleware],\n"
        "      any(m.startswith('opentelemetry.sdk') for m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")})
    assert done.returncode == 0, done.stderr
    # No tracing middleware; the audit's witness (every tools/call recorded, issue 12 item 2) stays.
    assert done.stdout.strip() == "None ['CallWitness', 'RequestStateBoundary'] False"


def test_the_standard_environment_turns_it_on_and_off(tmp_path: Path, no_otel_env, monkeypatch) -> None:
    base = settings(tmp_path, traced=False)
    assert configure_tracing(base) is None
    memory_exporter()  # a provider is installed, so configure_tracing reuses it instead of exporting anywhere
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert configure_tracing(base) is not None
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert configure_tracing(base) is None


def test_configured_without_the_sdk_is_a_start_up_error(tmp_path: Path, no_otel_env, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if the otel extra were missing
    with pytest.raises(ConfigError, match=r"pip install 'ops-mcp\[otel\]'"):
        configure_tracing(settings(tmp_path, traced=True))


@pytest.mark.anyio
async def test_a_confirmed_write_over_http_is_one_trace_with_every_step(tmp_path: Path, spans, no_otel_env) -> None:
    from ops_mcp.sandbox.app import create_sandbox_app

    runtime = build_runtime(settings(tmp_path, traced=True), sandbox_app=create_sandbox_app())
    token = AgentTokenStore(runtime.state_dir).issue("hr")
    arguments = requested_timeoff(runtime)
    port = free_port()

    async def accept(context, params):
        return t.ElicitResult(action="accept", content={"confirm": True})

    with serve_app(create_app(runtime, host="127.0.0.1", port=port), port=port) as base:
        http = mcp_http_client(token)
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with Client(transport, mode="legacy", elicitation_callback=accept) as client:
            result = await client.call_tool("remote_approve_timeoff", arguments)
        record = runtime.audit.search(tool="remote_approve_timeoff")[-1].record  # before the app closes it
    assert not result.is_error, result.content[0].text
    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name == "tools/call remote_approve_timeoff")
    attributes = dict(server.attributes)
    assert server.kind.name == "SERVER"
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "remote_approve_timeoff"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["network.transport"] == "tcp" and attributes["ops_mcp.agent"] == "hr"
    assert attributes["mcp.session.id"] == record.session_id and record.session_id
    assert "error.type" not in attributes
    steps = tree(finished, server)
    assert list(steps) == ["ops_mcp.policy", "ops_mcp.confirmation", "ops_mcp.upstream", "ops_mcp.audit"]
    assert steps["ops_mcp.upstream"] == {"POST": {}}
    by_name = {s.name: s for s in finished if s.context.trace_id == server.context.trace_id}
    assert by_name["ops_mcp.confirmation"].attributes["ops_mcp.confirmation.outcome"] == "confirmed"
    assert by_name["ops_mcp.policy"].attributes["ops_mcp.decision"] == "allowed"
    post = by_name["POST"]
    assert post.kind.name == "CLIENT" and post.attributes["http.response.status_code"] == 200
    assert post.attributes["url.full"].endswith(f"/v1/timeoff/{arguments['timeoff_id']}/approve")
    # No argument value that is not in the URL, and no token, is ever in a span.
    everything = json.dumps([dict(s.attributes) for s in finished], default=str)
    assert arguments["approver_id"] not in everything and token not in everything


@pytest.mark.anyio
async def test_traceparent_in_params_meta_parents_the_server_span(tmp_path: Path, spans, no_otel_env) -> None:
    from ops_mcp.sandbox.app import create_sandbox_app

    runtime = build_runtime(settings(tmp_path, traced=True), sandbox_app=create_sandbox_app())
    token = AgentTokenStore(runtime.state_dir).issue("hr")
    port = free_port()
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
            "traceparent": f"00-{TRACEPARENT_TRACE}-{TRACEPARENT_SPAN}-01"}
    with serve_app(create_app(runtime, host="127.0.0.1", port=port), port=port) as base:
        answer = httpx.post(f"{base}/mcp", timeout=30, json={
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "remoteops_list_invoices", "arguments": {}, "_meta": meta}}, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "remoteops_list_invoices"})
    assert answer.json()["result"]["isError"] is True  # not this agent's tool
    server = next(s for s in spans.get_finished_spans() if s.name == "tools/call remoteops_list_invoices")
    assert f"{server.context.trace_id:032x}" == TRACEPARENT_TRACE
    assert f"{server.parent.span_id:016x}" == TRACEPARENT_SPAN
    assert server.attributes["error.type"] == "tool_error"
    assert "mcp.session.id" not in server.attributes  # 2026-07-28 requests have no session
    assert list(tree(spans.get_finished_spans(), server)) == ["ops_mcp.policy", "ops_mcp.audit"]


def test_json_log_lines_carry_the_trace(spans, capsys) -> None:
    import logging

    from opentelemetry import trace

    from ops_mcp import logs
    from ops_mcp.telemetry import Tracing

    logs.configure_logging("json")
    try:
        with Tracing(trace.get_tracer_provider()).span("work") as span:
            logging.getLogger("ops_mcp.test").info("inside")
        event = json.loads(capsys.readouterr().err.splitlines()[-1])
    finally:
        logs.configure_logging("text")
    assert event["trace_id"] == f"{span.get_span_context().trace_id:032x}"
