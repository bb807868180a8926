"""ops-mcp against the official MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned in
``tests/npm/``, run on Node 22 from the npm registry).

The real ``ops-mcp serve --transport http`` runs as a subprocess on the starter config. The suite cannot send
an ``Authorization`` header, so it talks to a loopback proxy that adds one agent's bearer token (see
``auth_proxy``); the server itself has no test-only setting. Every scenario of the suite is classified
below: the ones that apply to a server without the suite's fixture tools, resources and prompts must pass
with every check a success; the others say why they do not apply.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conformance.auth_proxy import running_proxy
from tests.node_tools import CONFORMANCE_CLI, node, require

from ops_mcp.starter import write_starter

APPLICABLE = {
    "server-initialize": "the initialize handshake over streamable HTTP",
    "ping": "the ping utility",
    "tools-list": "every tool the agent's policy lists has a name, a description and an input schema",
    "resources-list": "the event-feed resources (ops-mcp://events/...) have a uri and a name",
    "prompts-list": "prompts/list answers with a well-formed list",
    "server-sse-multiple-streams": "several concurrent POST SSE streams in one session (SEP-1699)",
    "dns-rebinding-protection": "a foreign Host/Origin is refused, a loopback one accepted",
}
_FIXTURE_TOOL = "calls a tool of the suite's reference server ({}), which ops-mcp does not have"
_FIXTURE_RESOURCE = "reads or subscribes to the suite's fixture resource {}, which ops-mcp does not serve"
_FIXTURE_PROMPT = "gets the suite's fixture prompt {}, which ops-mcp does not have"
NOT_APPLICABLE = {
    "logging-set-level": "ops-mcp does not declare the logging capability (its logs go to stderr and calls "
                         "to the audit log), so logging/setLevel is 'method not found', as the spec allows",
    "completion-complete": "ops-mcp declares no completions capability (nothing it serves takes completable "
                           "arguments)",
    # These two would "pass" against ops-mcp only because an unknown tool is an isError text result:
    # counting them would claim something the suite did not test.
    "tools-call-simple-text": _FIXTURE_TOOL.format("test_simple_text"),
    "tools-call-error": _FIXTURE_TOOL.format("test_error_handling"),
    "tools-call-image": _FIXTURE_TOOL.format("test_image_content"),
    "tools-call-audio": _FIXTURE_TOOL.format("test_audio_content"),
    "tools-call-embedded-resource": _FIXTURE_TOOL.format("test_embedded_resource"),
    "tools-call-mixed-content": _FIXTURE_TOOL.format("test_multiple_content_types"),
    "tools-call-with-logging": _FIXTURE_TOOL.format("test_tool_with_logging") + "; nor logging",
    "tools-call-with-progress": _FIXTURE_TOOL.format("test_tool_with_progress"),
    "tools-call-sampling": _FIXTURE_TOOL.format("test_sampling"),
    "tools-call-elicitation": _FIXTURE_TOOL.format("test_elicitation"),
    "elicitation-sep1034-defaults": _FIXTURE_TOOL.format("test_elicitation_sep1034_defaults"),
    "elicitation-sep1330-enums": _FIXTURE_TOOL.format("test_elicitation_sep1330_enums"),
    "json-schema-2020-12": _FIXTURE_TOOL.format("json_schema_2020_12_tool") + " (a pending scenario)",
    "server-sse-polling": _FIXTURE_TOOL.format("test_reconnection") + " (a pending scenario)",
    "resources-read-text": _FIXTURE_RESOURCE.format("test://static-text"),
    "resources-read-binary": _FIXTURE_RESOURCE.format("test://static-binary"),
    "resources-templates-read": _FIXTURE_RESOURCE.format("test://template/{id}/data"),
    "resources-subscribe": _FIXTURE_RESOURCE.format("test://watched-resource"),
    "resources-unsubscribe": _FIXTURE_RESOURCE.format("test://watched-resource"),
    "prompts-get-simple": _FIXTURE_PROMPT.format("test_simple_prompt"),
    "prompts-get-with-args": _FIXTURE_PROMPT.format("test_prompt_with_arguments"),
    "prompts-get-embedded-resource": _FIXTURE_PROMPT.format("test_prompt_with_embedded_resource"),
    "prompts-get-with-image": _FIXTURE_PROMPT.format("test_prompt_with_image"),
}
# Each agent sees only its own back end: the proxy's token decides who the suite is talking as.
CASES = [("people-ops", name) for name in APPLICABLE] + [("dispatch", "tools-list")]


def _ops_mcp() -> str:
    return str(Path(sys.executable).with_name("ops-mcp"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(base: str, server: subprocess.Popen, log: Path) -> None:
    for _ in range(600):  # bounded: at most ~60 s for the server to import, bind and report ready
        if server.poll() is not None:
            raise AssertionError(f"ops-mcp serve exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.ConnectError:
            pass
        threading.Event().wait(0.1)
    raise AssertionError("ops-mcp serve never became ready")


@pytest.fixture(scope="module")
def ops_mcp_http(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """``ops-mcp serve --transport http`` on the starter config; yields its base URL and a token per agent."""
    require(CONFORMANCE_CLI)
    config = write_starter(tmp_path_factory.mktemp("conformance"))
    tokens = {}
    for agent in ("people-ops", "dispatch"):
        issued = subprocess.run([_ops_mcp(), "agents", "add", agent, "--config", str(config)],
                                capture_output=True, text=True, timeout=60)
        assert issued.returncode == 0, issued.stderr
        tokens[agent] = issued.stdout.strip()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = config.parent / "serve.log"  # a file, not a pipe nobody drains: the server must never block on it
    with log.open("w") as stderr:
        server = subprocess.Popen([_ops_mcp(), "serve", "--transport", "http", "--host", "127.0.0.1", "--port",
                                   str(port), "--config", str(config)], stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            _wait_ready(base, server, log)
            yield base, tokens
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def proxies(ops_mcp_http) -> Iterator[dict[str, str]]:
    base, tokens = ops_mcp_http
    with running_proxy(base, tokens["people-ops"]) as people, running_proxy(base, tokens["dispatch"]) as dispatch:
        yield {"people-ops": people, "dispatch": dispatch}


def test_every_scenario_of_the_pinned_suite_is_classified():
    require(CONFORMANCE_CLI)
    listed = node(CONFORMANCE_CLI, "list", "--server", timeout=60)
    assert listed.returncode == 0, listed.stderr
    names = set(re.findall(r"^\s+- (\S+)", listed.stdout, re.MULTILINE))
    assert names == set(APPLICABLE) | set(NOT_APPLICABLE)
    assert not set(APPLICABLE) & set(NOT_APPLICABLE)


def test_without_the_proxy_the_server_refuses_the_suite(ops_mcp_http):
    base, _ = ops_mcp_http
    answer = httpx.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                        headers={"Accept": "application/json, text/event-stream"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("agent", "scenario"), CASES, ids=[f"{a}:{s}" for a, s in CASES])
def test_conformance_scenario(proxies, agent, scenario, tmp_path):
    done = node(CONFORMANCE_CLI, "server", "--url", f"{proxies[agent]}/mcp", "--scenario", scenario,
                "--output-dir", str(tmp_path), cwd=tmp_path, timeout=120)
    (results,) = tmp_path.glob(f"server-{scenario}-*/checks.json")
    checks = json.loads(results.read_text())
    outcome = [(c["id"], c["status"], c.get("errorMessage")) for c in checks if c["status"] != "INFO"]
    assert outcome and all(status == "SUCCESS" for _, status, _ in outcome), outcome
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    if scenario == "tools-list":
        (listing,) = [c for c in checks if c["id"] == "tools-list"]
        prefix = {"people-ops": "remote_", "dispatch": "remoteops_"}[agent]
        backend_tools = [n for n in listing["details"]["tools"] if not n.startswith("ops_")]
        assert backend_tools and all(n.startswith(prefix) for n in backend_tools), listing["details"]["tools"]
