"""Helpers for the durability and soak tests (items 5, 7): ``ops-mcp serve --transport http`` as a real
subprocess with its own state dir, agent tokens from ``ops-mcp agents add``, and MCP sessions over HTTP.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from contextlib import asynccontextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import ops_mcp
from ops_mcp.cli import main
from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS as REMOTE_CREDENTIALS
from ops_mcp.sandbox.remoteops.credentials import SANDBOX_CREDENTIALS as REMOTEOPS_CREDENTIALS
from ops_mcp.transports.http import free_port
from tests.support.loopback import mcp_http_client
from tests.support.waiting import eventually_sync

OPS_MCP = str(Path(sys.executable).with_name("ops-mcp"))


def env() -> dict[str, str]:
    # The subprocess must import the same ops_mcp as the tests, installed or not.
    src = str(Path(ops_mcp.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1"}


def ops_mcp_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``ops-mcp ARGS`` (the same entry point as the command), run in this process: its exit code and output.

    The server under test is the subprocess; the short commands around it (``agents add``, ``audit verify``)
    need no process of their own, and starting one costs more than they do.
    """
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["ops-mcp", *args], code, out.getvalue(), err.getvalue())


def write_config(directory: Path, agents: dict[str, dict[str, str]], *, sandbox: str = "",
                 upstream: str | None = None) -> Path:
    """A config for ``agents`` (name → {area: level}); ``sandbox``: extra ``[sandbox]`` lines.

    Without ``upstream`` both back ends are the embedded sandbox; with it (the base URL of an ``ops-mcp
    sandbox`` process) they are configured as real back ends are: base URL, token, pacing budget.
    """
    def connection(backend: str, name: str, label: str, mount: str, token: str) -> list[str]:
        lines = [f"[backends.{backend}.connections.{name}]", f'label = "{label}"']
        if upstream:
            lines += [f'base_url = "{upstream}{mount}"', f'token = "{token}"', "per_minute = 1000000"]
        return [*lines, ""]

    lines = ["[storage]", 'dir = "state"', ""]
    lines += connection("remote", "acme", "Acme GmbH", "/remote", REMOTE_CREDENTIALS["acme"])
    lines += connection("remoteops", "northwind", "Northwind Elevators", "/remoteops/v1",
                        REMOTEOPS_CREDENTIALS["northwind"])
    lines += ["[sandbox]", sandbox, ""]
    for name, areas in agents.items():
        table = ", ".join(f'"{area}" = "{level}"' for area, level in areas.items())
        lines += [f"[agents.{name}]", f"areas = {{ {table} }}", ""]
    path = directory / "ops-mcp.toml"
    path.write_text("\n".join(lines))
    return path


def add_agent_token(config: Path, agent: str) -> str:
    done = ops_mcp_cli("agents", "add", agent, "--config", str(config))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class ServerProcess:
    """``ops-mcp serve --transport http`` (or ``ops-mcp sandbox``) on a free loopback port; stderr to a log."""

    def __init__(self, config: Path, log: Path, *, command: str = "serve") -> None:
        self.config = config
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ServerProcess:
        command = [OPS_MCP, "serve", "--transport", "http", "--config", str(self.config), "--port", str(self.port)]
        if self.command == "sandbox":
            command = [OPS_MCP, "sandbox", "--config", str(self.config), "--port", str(self.port)]
        with self.log.open("ab") as err:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env())
        probe = "/" if self.command == "sandbox" else "/readyz"

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"ops-mcp exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                return http.get(f"{self.base}{probe}").status_code == 200
            except httpx.TransportError:
                return False

        with httpx.Client(timeout=2) as http:  # one client for every probe (httpx.get builds a TLS context each)
            became_ready = eventually_sync(ready, timeout)
        if not became_ready:
            raise RuntimeError("ops-mcp did not become ready")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def status(self, field: str) -> int:
        """A number from the process's /proc status (Linux), e.g. VmRSS (kB) or Threads."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} in /proc/{self.pid}/status")

    def rss_kb(self) -> int:
        """Resident set size of the server process."""
        return self.status("VmRSS")

    def kill(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


@asynccontextmanager
async def http_session(base: str, token: str, *, mode: str = "legacy", timeout: float = 30):
    """One MCP session over streamable HTTP as an agent holding ``token``."""
    client = mcp_http_client(token, timeout=timeout)
    async with client, Client(streamable_http_client(f"{base}/mcp", http_client=client), mode=mode) as session:
        yield session


def call_text(result: Any) -> str:
    return result.content[0].text if result.content else ""
