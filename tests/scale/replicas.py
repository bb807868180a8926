"""Several ``ops-mcp serve --transport http`` processes sharing PostgreSQL and Redis, in front of one
emulated Remote company served on loopback (in this process, so the test can count what reached it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops_mcp.config import SandboxConfig, Settings
from ops_mcp.sandbox.embedded import embedded_sandbox_app
from ops_mcp.sandbox.emulators import sandbox_credentials
from ops_mcp.storage import open_state
from tests.support.loopback import free_port, serving
from tests.support.waiting import eventually_sync

TOOL = "remote_list_timeoff"


class CountingApp:
    """The emulator, counting every response it sends by status (429s are what must never happen)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/remote/"):
            await self.app(scope, receive, send)
            return

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counted)

    @property
    def answered(self) -> int:
        """Requests the emulator served within its limit."""
        return sum(n for status, n in self.statuses.items() if status != 429)


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Deployment:
    config: Path
    env: dict[str, str]
    sandbox: CountingApp
    replicas: list[Replica] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops_mcp.cli", *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def kill(self, index: int) -> None:
        self.replicas[index].process.send_signal(signal.SIGKILL)
        self.replicas[index].process.wait(timeout=30)


def write_config(directory: Path, sandbox_url: str, *, agents: int, per_minute: int, prefix: str) -> Path:
    token, _ = sandbox_credentials("remote", "acme", "acme")
    lines = [
        '[storage]\ndir = "state"\n',
        f'[coordination]\nkey_prefix = "{prefix}"\nheartbeat_seconds = 0.5\n',
        "[backends.remoteops]\nenabled = false\n",
        f'[backends.remote.connections.acme]\nbase_url = "{sandbox_url}/remote"\ntoken = "{token}"\n'
        f'label = "Acme GmbH"\nbudget_key = "remote:company:acme"\nper_minute = {per_minute}\n',
        "[server.limits]\nrevocation_poll_seconds = 30\n",  # revocations must arrive by Redis, not the poll
    ]
    for i in range(agents):
        lines.append(f'[agents.agent{i}]\nareas = {{ "remote.timeoff" = "read" }}\n')
    path = directory / "ops-mcp.toml"
    path.write_text("\n".join(lines))
    return path


@contextmanager
def deployment(
    tmp_path: Path,
    pg_url: str,
    redis: tuple[str, str],
    *,
    replicas: int = 3,
    agents: int = 10,
    per_minute: int,
    sandbox_limit: int,
    redis_url: str | None = None,
) -> Iterator[Deployment]:
    """``replicas`` serving processes, ``agents`` agents with tokens, the emulator at ``sandbox_limit`` a minute."""
    from ops_mcp.secretbox import KEY_ENV, new_key

    sandbox = CountingApp(
        embedded_sandbox_app(SandboxConfig(remote_rate_limit=sandbox_limit, window_seconds=60.0))
    )
    with ExitStack() as stack:
        served = stack.enter_context(serving(sandbox, quiet=True))
        config = write_config(tmp_path, served.url, agents=agents, per_minute=per_minute, prefix=redis[1])
        env = {
            **_clean_env(),
            KEY_ENV: new_key(),
            "OPS_MCP_STORAGE_URL": pg_url,
            "OPS_MCP_REDIS_URL": redis_url or redis[0],
            "HOME": str(tmp_path),
        }
        found = Deployment(config, env, sandbox)
        found.tokens = _issue(config, env, agents)
        for index in range(replicas):
            found.replicas.append(_start(tmp_path, config, env, index))
            stack.callback(_stop, found.replicas[-1])
        for replica in found.replicas:
            _wait_ready(replica)
        yield found


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if k in keep}


def _issue(config: Path, env: dict[str, str], agents: int) -> dict[str, str]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from ops_mcp.config import load_settings

        settings: Settings = load_settings(config)
        state = open_state(settings)
        try:
            store = state.agent_tokens()
            return {f"agent{i}": store.issue(f"agent{i}") for i in range(agents)}
        finally:
            state.close()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _start(directory: Path, config: Path, env: dict[str, str], index: int) -> Replica:
    port = free_port()
    log = directory / f"replica-{index}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "ops_mcp.cli", "serve", "--transport", "http", "--port", str(port), "--config",
         str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        cwd=directory,
    )
    return Replica(f"http://127.0.0.1:{port}", process, log)


def _wait_ready(replica: Replica) -> None:
    def ready() -> bool:
        if replica.process.poll() is not None:
            raise RuntimeError(f"replica {replica.url} exited: {replica.log.read_text()[-2000:]}")
        try:
            return http.get(f"{replica.url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    with httpx.Client(timeout=2) as http:  # one client for every probe (httpx.get builds a TLS context each time)
        became_ready = eventually_sync(ready, timeout=120)
    if not became_ready:
        raise RuntimeError(f"replica {replica.url} never became ready: {replica.log.read_text()[-2000:]}")


def _stop(replica: Replica) -> None:
    if replica.process.poll() is None:
        replica.process.send_signal(signal.SIGTERM)
        try:
            replica.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            replica.process.kill()
            replica.process.wait(timeout=30)
