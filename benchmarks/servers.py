"""Starting the servers under test: ops-mcp (stdio or HTTP) and the peer over HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .configs import FULL_AGENT, WORK
from .peer_launch import peer_argv, peer_env_vars
from .rawclient import StdioServer
from .sandbox_proc import free_port, ops_mcp_bin, stop, wait_http


def ops_stdio(config: Path, agent: str = FULL_AGENT) -> StdioServer:
    return StdioServer(
        [ops_mcp_bin(), "serve", "--transport", "stdio", "--agent", agent, "--config", str(config)],
        log_path=WORK / "ops-mcp-stdio.log",
    )


def agent_token(config: Path, agent: str) -> str:
    """A bearer token for a hosted agent (``ops-mcp agents add``, rotated so reruns work)."""
    done = subprocess.run(
        [ops_mcp_bin(), "agents", "add", agent, "--rotate", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ops-mcp agents add {agent}: {done.stderr.strip()[-400:]}")
    return done.stdout.strip().splitlines()[-1].strip()


class HttpServer:
    """A streamable-HTTP MCP server process on a free loopback port, ``url`` ending in ``/mcp``."""

    def __init__(self, argv_for_port, *, env: dict[str, str] | None = None, name: str) -> None:
        self.port = free_port()
        self.argv = argv_for_port(self.port)
        self.env = env
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log_path = WORK / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> HttpServer:
        import os

        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(self.env or {})}
            )
        wait_http(self.url, proc=self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def ops_http_argv(config: Path, port: int) -> list[str]:
    """``ops-mcp serve`` over HTTP on ``port`` (every HTTP figure, and the abuse run, start it this way)."""
    return [ops_mcp_bin(), "serve", "--transport", "http", "--port", str(port), "--config", str(config)]


def ops_http(config: Path, *, env: dict[str, str] | None = None, name: str = "ops-mcp-http") -> HttpServer:
    return HttpServer(lambda port: ops_http_argv(config, port), env=env, name=name)


def peer_http(peer_python: Path, sandbox_url: str) -> HttpServer:
    return HttpServer(
        lambda port: peer_argv(peer_python, sandbox_url, http_port=port),
        env=peer_env_vars(),
        name="peer-http",
    )
