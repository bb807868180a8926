"""The sandbox as its own process on a loopback port (``ops-mcp sandbox``), shared by both sides."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from .configs import MOUNTS, WORK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers at all (any status) or the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before serving {url}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {timeout:.0f} s")


def ops_mcp_bin() -> str:
    """The ``ops-mcp`` command under test: ``OPS_MCP_BIN`` (``make bench`` names the ``make run`` install,
    free of test-only packages), else the one beside this Python."""
    return os.environ.get("OPS_MCP_BIN") or str(Path(sys.executable).with_name("ops-mcp"))


class Sandbox:
    """``ops-mcp sandbox --config CFG`` on a free port; the config's [sandbox] table sets its limits."""

    def __init__(self, config: Path, name: str = "sandbox") -> None:
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = WORK / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Sandbox:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [ops_mcp_bin(), "sandbox", "--port", str(self.port), "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_http(self.url + "/", proc=self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)

    def base(self, backend: str) -> str:
        return self.url + MOUNTS[backend]

    def statuses(self, backend: str) -> Counter:
        """Status codes of every request the back end has logged since the last ``clear``."""
        body = httpx.get(self.base(backend) + "/_sandbox/requests", timeout=30).json()
        return Counter(row["status"] for row in body["requests"])

    def clear(self, backend: str) -> None:
        httpx.delete(self.base(backend) + "/_sandbox/requests", timeout=30).raise_for_status()

    def reset_remote(self) -> None:
        """Remote back to its seed, rate-limit windows included (seeded ids stay the same)."""
        httpx.post(self.base("remote") + "/_sandbox/reset", timeout=30).raise_for_status()
        self.clear("remote")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
