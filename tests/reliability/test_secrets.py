"""Item 4 — secrets. ops-mcp runs with canary credentials (every one carries a unique marker; the sandbox is
taught to accept the valid ones), serves agents in process, over HTTP (with webhook registration, so signing
secrets exist too) and as a stdio subprocess, through sandbox faults, 401s and OAuth failures; then every tool
result, error text, HTTP response, log line (DEBUG), the subprocess' stderr, every audit row (raw SQLite) and
file of the state directory, and the ``/metrics`` page are scanned for every secret. Zero hits.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from ops_mcp.events.secrets import SECRETS_FILE, WebhookSecrets
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.stdio import build_stdio_server
from tests.support.hostile import INIT
from tests.support.runtime import no_wait
from tests.support.waiting import eventually, eventually_sync

from .recorder import record
from .rel3_canary import ENV, FAULTS_APPLIED, Canary
from .rel3_support import driven, http_client, make_runtime, serve, text_of
from .volume import volume

pytestmark = pytest.mark.timeout(150)

FAST = {"remote_rate_limit": 100_000, "remoteops_rate_limit": 100_000, "webhook_time_scale": 0.001}
AREAS = {"remote.*": "full", "remoteops.*": "full"}
AGENTS = {
    "acme_ops": {
        "areas": AREAS,
        "tool_mode": "static",
        "connections": {"remote": "acme", "remoteops": "northwind"},
    },
    "globex_ops": {
        "areas": AREAS,
        "tool_mode": "static",
        "connections": {"remote": "globex", "remoteops": "contoso"},
    },
    "broken": {
        "areas": AREAS,
        "tool_mode": "static",
        "connections": {"remote": "initech", "remoteops": "contoso"},
    },
    "finder": {
        "areas": AREAS,
        "tool_mode": "discovery",
        "connections": {"remote": "acme", "remoteops": "northwind"},
    },
}
# Calls that would change a shared fixture, or whose only purpose is handing out a credential, are left out
# of the blanket sweep; webhook reads are in (they must not show the signing secrets ops-mcp registered).
SWEPT = ("acme_ops", "globex_ops", "broken")  # every tool of each, in process (the 2026 era: a sample)
SKIP = {
    "remote_create_webhook_callback",
    "remote_update_webhook_callback",
    "remoteops_create_webhook_endpoint",
    "remoteops_update_webhook_endpoint",
}
FAULTS = {"error_rate": 0.1, "drop_rate": 0.05, "truncate_rate": 0.05, "non_json_rate": 0.05, "seed": 4}
ECHO = (
    "ECHOPROBE"  # what an agent injects; it is the agent's own text, so it may show up (the secrets may not)
)


class Scan:
    """Every surface the secrets must never reach, and what was found there."""

    def __init__(self, canary: Canary) -> None:
        self.canary = canary
        self.secrets: dict[str, str] = dict(canary.configured())
        self.scanned = Counter()
        self.hits: list[str] = []
        self.seen: list[tuple[str, str, str]] = []

    def add_secret(self, label: str, value: str | None) -> None:
        if value and len(value) >= 8:
            self.secrets[label] = value

    def look(self, surface: str, text: Any, where: str = "") -> None:
        """Keep ``text`` for the final scan (some secrets, e.g. webhook signing keys, only exist later)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        elif not isinstance(text, str):
            text = json.dumps(text, default=str, ensure_ascii=False)
        self.scanned[surface] += 1
        self.seen.append((surface, where, text))

    def finish(self) -> list[str]:
        needles = {"marker": self.canary.mark, **self.secrets}
        forms = [
            (label, form)
            for label, secret in needles.items()
            for form in (secret, base64.b64encode(secret.encode()).decode())
        ]
        for surface, where, text in self.seen:
            self.hits += [f"{surface} {where}: {label}" for label, form in forms if form in text]
        return self.hits

    def result(self, result: Any, where: str) -> None:
        surface = "error results" if result.is_error else "tool results"
        self.look(surface, text_of(result) + json.dumps(result.structured_content or {}, default=str), where)

    def state_dir(self, state: Path) -> None:
        """Every audit row, raw, and every file of the state directory but the secret stores themselves."""
        audit = state / "audit.sqlite3"
        with sqlite3.connect(audit) as db:
            for table in ("audit", "audit_head"):
                for row in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 - fixed table names
                    self.look("audit rows", "\x1f".join(map(str, row)), table)
        for path in sorted(state.rglob("*")):
            if path.is_file() and path.name != SECRETS_FILE:
                self.look("state files", path.read_bytes(), path.name)


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))  # formatted with exc_info: tracebacks are scanned too
        except Exception as exc:  # a record that cannot even be formatted is still evidence
            self.lines.append(f"unformattable record {record.name}: {exc!r} {record.msg!r} {record.args!r}")


@pytest.fixture
def logs():
    root = logging.getLogger()
    capture = LogCapture()
    old_level, old_disable = root.level, logging.root.manager.disable
    logging.disable(logging.NOTSET)
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    quiet = {
        name: logging.getLogger(name).level
        for name in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "mcp", "ops_mcp", "hpack")
    }
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture)
    root.setLevel(old_level)
    logging.disable(old_disable)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def canary():
    found = Canary()
    undo = found.register()
    yield found
    Canary.unregister(undo)


def _sweep(driver: Any, runtime: Any, agent: str, scan: Scan, label: str, *, reads_only: bool = False) -> int:
    """Every tool the agent may call, with no arguments, then arguments that try to make it echo headers."""
    calls = 0
    for endpoint in runtime.policy(agent).visible():
        if endpoint.tool in SKIP or (reads_only and endpoint.access != "read"):
            continue
        scan.result(driver.call(endpoint.tool, {}), f"{label} {endpoint.tool}")
        calls += 1
    probes = [
        ("remoteops_list_work_orders", {"q": f"x\r\nAuthorization: Bearer {ECHO}\r\n"}),
        (
            "remoteops_list_work_orders",
            {"authorization": f"Bearer {ECHO}", "headers": {"Authorization": ECHO}},
        ),
        ("remoteops_get_work_order", {"work_order_id": f"wo_x\r\nAuthorization: Bearer {ECHO}"}),
        ("remote_list_employments", {"email": f"{ECHO}@example.com\r\nAuthorization: x"}),
        ("remote_get_employment", {"employment_id": "00000000-0000-4000-8000-000000000000"}),
        ("remoteops_create_customer", {"type": "business", "name": f"Canary Co {ECHO}"}),
        ("no_such_tool", {"token": ECHO}),
    ]
    for tool, arguments in probes:
        scan.result(driver.call(tool, arguments), f"{label} {tool} (probe)")
        calls += 1
    return calls


def test_no_secret_reaches_results_logs_audit_or_metrics(tmp_path, canary, logs) -> None:
    scan = Scan(canary)
    started = time.perf_counter()
    calls = Counter()

    # 1. In process, both eras, with and without sandbox faults; tenants whose credentials fail.
    # The faults phase is about what error answers say, not when retries happen: no backoff waits.
    runtime, sandbox = make_runtime(tmp_path / "inproc", AGENTS, backends=canary.backends(), sandbox=FAST,
                                    retry_sleep=no_wait)
    for mode, agents in (("legacy", SWEPT), ("2026-07-28", SWEPT[: volume(3, 1)])):
        for agent in agents:
            with driven(build_stdio_server(runtime, agent), mode) as driver:
                calls[f"in process ({mode})"] += _sweep(driver, runtime, agent, scan, f"{agent}/{mode}")
    for backend in ("remote", "remoteops"):
        state = sandbox.backend(backend)
        state.faults = state.faults.updated(FAULTS)
    with driven(build_stdio_server(runtime, "acme_ops"), "legacy") as driver:
        calls["in process, 25% faults"] += _sweep(
            driver, runtime, "acme_ops", scan, "faults", reads_only=True
        )
    faults_applied = sum(len(sandbox.backend(b).fault_log) for b in ("remote", "remoteops"))
    for backend in ("remote", "remoteops"):
        state = sandbox.backend(backend)
        state.faults = state.faults.updated({k: 0 for k in FAULTS if k.endswith("_rate")})
    with driven(build_stdio_server(runtime, "finder"), "legacy") as driver:
        for query in ("list employments", "work orders", "webhook secret token", "authorization header"):
            scan.result(driver.call("ops_search_tools", {"query": query}), f"search {query}")
        for name in ("remote_list_employments", "remoteops_list_webhook_endpoints"):
            scan.result(driver.call("ops_describe_tool", {"name": name}), f"describe {name}")
            scan.result(
                driver.call("ops_call_tool", {"name": name, "arguments": {}}), f"ops_call_tool {name}"
            )
        calls["discovery meta-tools"] += 8
    statuses = Counter(str(s.authorization is not None) for s in sandbox.seen)
    upstream_401 = sum(
        1 for b in ("remote", "remoteops") for r in sandbox.backend(b).requests if r.status == 401
    )
    issued = sandbox.backend("remote").access_tokens
    for i, token in enumerate([*issued, *sandbox.backend("remote").refresh_tokens]):
        scan.add_secret(f"OAuth token #{i}", token)

    phases = {"in_process_s": round(time.perf_counter() - started, 1)}
    # 2. Over HTTP: agent tokens, webhooks registered with the sandbox (signing secrets), /metrics,
    # bad credentials.
    http_runtime, http_sandbox = make_runtime(
        tmp_path / "http", AGENTS, backends=canary.backends(), sandbox=FAST
    )
    store = AgentTokenStore(http_runtime.state_dir)
    tokens = {agent: store.issue(agent) for agent in ("acme_ops", "globex_ops", "broken")}
    for agent, token in tokens.items():
        scan.add_secret(f"agent token {agent}", token)
    bogus = {
        "made-up agent token": f"omcp_{canary.mark}_forged",
        "forged JWT": ".".join(
            base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=")
            for p in ({"alg": "none"}, {"sub": canary.mark})
        )
        + ".",
        "over-long token": "omcp_" + canary.mark * 30,
    }
    with serve(http_runtime, register_webhooks=True) as served:
        eventually_sync(lambda: len(served.app.state.ops.registrations) >= 2)
        registered = [r for r in served.app.state.ops.registrations if r.ok]
        for i, (_, secret) in enumerate(
            [
                s
                for b in ("remote", "remoteops")
                for s in WebhookSecrets(http_runtime.state_dir).for_backend(b)
            ]
        ):
            scan.add_secret(f"webhook signing secret #{i}", secret)

        async def over_http() -> None:
            for transport, mode in (("http", "legacy"), ("http", "2026-07-28"), ("sse", "legacy")):
                for agent, token in tokens.items():
                    async with http_client(served.base, token, transport=transport, mode=mode) as client:
                        listed = await client.list_tools()
                        scan.look("tool lists", [t.model_dump(mode="json") for t in listed.tools], agent)
                        names = [t.name for t in listed.tools if t.name not in SKIP]
                        if transport != "http" or mode != "legacy":
                            names = [n for n in names if "list" in n][:12]
                        for name in names:
                            with anyio.fail_after(30):
                                scan.result(
                                    await client.call_tool(name, {}), f"{transport}/{mode}/{agent} {name}"
                                )
                            calls[f"HTTP {transport} ({mode})"] += 1

            # Writes whose events the sandbox delivers, signed, to the receiver; then the agent reads them.
            async with http_client(served.base, tokens["acme_ops"]) as client:
                for i in range(3):
                    created = await client.call_tool(
                        "remoteops_create_customer", {"type": "business", "name": f"Canary Events {i}"}
                    )
                    scan.result(created, "create customer over HTTP")
                async def events() -> Any:
                    listed = await client.call_tool("ops_list_events", {"limit": 50})
                    return listed if (listed.structured_content or {}).get("count") else None

                feed = await eventually(events) or await client.call_tool("ops_list_events", {"limit": 50})
                scan.result(feed, "ops_list_events")
                calls["HTTP events"] += 4

        anyio.run(over_http)
        with httpx.Client(base_url=served.base, timeout=30) as http:
            for path in ("/metrics", "/healthz", "/readyz", "/.well-known/oauth-protected-resource/mcp"):
                response = http.get(path)
                scan.look(
                    "metrics page" if path == "/metrics" else "HTTP responses",
                    f"{response.headers}\n{response.text}",
                    path,
                )
            metrics_bytes = len(http.get("/metrics").content)
            for label, credential in bogus.items():
                for response in (
                    http.post("/mcp", json=INIT, headers={"Authorization": f"Bearer {credential}"}),
                    http.get("/sse", headers={"Authorization": f"Bearer {credential}"}),
                    http.post(
                        "/mcp",
                        json=INIT,
                        headers={
                            "Authorization": "Basic " + base64.b64encode(f"hr:{credential}".encode()).decode()
                        },
                    ),
                ):
                    assert response.status_code == 401, (label, response.status_code)
                    scan.look("HTTP responses", f"{response.headers}\n{response.text}", label)
                scan.add_secret(label, credential)
        event_count = len(served.app.state.ops.store.after(0))
    for i, token in enumerate(
        [*http_sandbox.backend("remote").access_tokens, *http_sandbox.backend("remote").refresh_tokens]
    ):
        scan.add_secret(f"OAuth token (HTTP) #{i}", token)

    phases["http_s"] = round(time.perf_counter() - started - phases["in_process_s"], 1)
    # 3. A stdio subprocess (DEBUG logging to stderr), canaries registered in its sandbox, faults on.
    stderr, sub_calls = _subprocess(tmp_path / "sub", canary, scan)
    calls["stdio subprocess"] += sub_calls
    phases["subprocess_s"] = round(time.perf_counter() - started - sum(phases.values()), 1)
    sub_faults = sum(
        int(line.rsplit(" ", 1)[1]) for line in stderr.splitlines() if line.startswith(FAULTS_APPLIED)
    )

    # Everything the processes wrote down.
    for line in logs.lines:
        scan.look("log lines", line)
    for line in stderr.splitlines():
        scan.look("subprocess stderr lines", line)
    runtime.audit.close()
    http_runtime.audit.close()
    for state in (runtime.state_dir, http_runtime.state_dir, tmp_path / "sub" / "state"):
        scan.state_dir(state)
    # The scan itself works: the marker is where it must be (the config) and in what the agent sent.
    assert canary.mark in json.dumps(canary.backends())
    probe = Scan(canary)
    probe.look("self-test", f"xx{canary.acme_token}xx")
    assert probe.finish(), "the scanner does not find a planted secret"
    scan.finish()

    passed = not scan.hits and len(registered) >= 2 and faults_applied > 0 and upstream_401 > 0
    record(
        "4",
        "canary credentials: tool results, errors, logs, stderr, audit, state files, /metrics",
        tried=sum(scan.scanned.values()),
        outcome="0 secret found on any surface" if not scan.hits else f"{len(scan.hits)} hits",
        passed=passed,
        secrets=len(scan.secrets),
        tool_calls=sum(calls.values()),
        **{k.replace(" ", "_"): v for k, v in sorted(scan.scanned.items())},
        faults_injected=faults_applied,
        subprocess_faults_injected=sub_faults,
        upstream_401s=upstream_401,
        webhooks_registered=len(registered),
        metrics_bytes=metrics_bytes,
        stored_events=event_count,
        upstream_requests=sum(statuses.values()),
        seconds=round(time.perf_counter() - started, 1),
        **phases,
    )
    assert not scan.hits, "\n".join(sorted(set(scan.hits))[:30])
    assert len(registered) >= 2, served.app.state.ops.registrations
    assert faults_applied > 0 and upstream_401 > 0


SUB_CONFIG = """
[storage]
dir = "state"

[sandbox]
remote_rate_limit = 100000
remoteops_rate_limit = 100000

[agents.acme_ops]
areas = {{ "remote.*" = "full", "remoteops.*" = "full" }}
connections = {{ remote = "acme", remoteops = "northwind" }}

[agents.broken]
areas = {{ "remote.*" = "read", "remoteops.*" = "read" }}
connections = {{ remote = "initech", remoteops = "contoso" }}

{connections}
"""


def _toml_connections(backends: dict) -> str:
    lines = []
    for backend, spec in backends.items():
        for name, conn in spec["connections"].items():
            lines.append(f"[backends.{backend}.connections.{name}]")
            for key, value in conn.items():
                if isinstance(value, dict):
                    continue
                lines.append(f"{key} = {json.dumps(value)}")
            if "oauth" in conn:
                lines.append(f"[backends.{backend}.connections.{name}.oauth]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in conn["oauth"].items()]
            lines.append("")
    return "\n".join(lines)


def _subprocess(directory: Path, canary: Canary, scan: Scan) -> tuple[str, int]:
    directory.mkdir()
    config = directory / "ops-mcp.toml"
    config.write_text(SUB_CONFIG.format(connections=_toml_connections(canary.backends())))
    errlog = directory / "stderr.log"
    launcher = str(Path(__file__).with_name("rel3_canary.py"))
    env = {ENV: json.dumps({"mark": canary.mark, "faults": FAULTS})}
    calls = 0

    async def run() -> None:
        nonlocal calls
        for agent in ("acme_ops", "broken"):
            params = StdioServerParameters(
                command=sys.executable,
                env=env,
                cwd=str(directory),
                args=[launcher, "serve", "--transport", "stdio", "--agent", agent, "--config", str(config)],
            )
            with errlog.open("a") as errors:
                async with Client(
                    stdio_client(params, errlog=errors), mode="legacy", read_timeout_seconds=60
                ) as client:
                    for tool in (
                        "remote_list_employments",
                        "remoteops_list_work_orders",
                        "remote_list_countries",
                        "remoteops_list_customers",
                        "remote_list_timeoff",
                        "remoteops_list_invoices",
                        "remote_get_employment",
                        "no_such_tool",
                    ):
                        for _ in range(2):
                            with anyio.fail_after(60):
                                scan.result(await client.call_tool(tool, {}), f"subprocess/{agent} {tool}")
                            calls += 1

    anyio.run(run)
    # `audit search` prints the audit sentences: one more surface, through the CLI.
    shown = subprocess.run(
        [sys.executable, launcher, "audit", "search", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_base_env(), **env},
    )
    scan.look("CLI output", shown.stdout + shown.stderr, "audit search")
    return errlog.read_text(), calls


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)
