"""How the benchmarks start the peer and the SDK floor (argv and environment in one place)."""

from __future__ import annotations

import sys
from pathlib import Path

from .configs import WORK, sandbox_token
from .rawclient import StdioServer

HERE = Path(__file__).resolve().parent


def peer_env_vars() -> dict[str, str]:
    return {
        "PEER_REMOTE_TOKEN": sandbox_token("remote"),
        "PEER_REMOTEOPS_TOKEN": sandbox_token("remoteops"),
        "FASTMCP_CHECK_FOR_UPDATES": "off",
        "FASTMCP_SHOW_SERVER_BANNER": "false",
    }


def peer_argv(peer_python: Path, sandbox_url: str, *, http_port: int | None = None) -> list[str]:
    argv = [str(peer_python), str(HERE / "peer_server.py"), "--sandbox", sandbox_url]
    if http_port is not None:
        argv += ["--transport", "http", "--port", str(http_port)]
    return argv


def peer_stdio(peer_python: Path, sandbox_url: str) -> StdioServer:
    WORK.mkdir(parents=True, exist_ok=True)
    return StdioServer(
        peer_argv(peer_python, sandbox_url), env=peer_env_vars(), log_path=WORK / "peer-stdio.log"
    )


def sdk_floor_stdio() -> StdioServer:
    WORK.mkdir(parents=True, exist_ok=True)
    return StdioServer([sys.executable, str(HERE / "sdk_floor_server.py")], log_path=WORK / "sdk-floor.log")
