"""Start ``ops-mcp run`` as a user does (a real process on a loopback port) and read what it prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def ops_mcp_command() -> list[str]:
    script = Path(sys.executable).parent / "ops-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ops_mcp.cli"]


def demo_config(directory: Path) -> Path:
    """The example config the demo runs with, its state dir moved into ``directory``."""
    text = (REPO / "examples" / "ops-mcp.toml").read_text().replace('dir = "../.ops-mcp"', 'dir = "state"')
    path = directory / "ops-mcp.toml"
    path.write_text(text)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPS_MCP_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@contextmanager
def running(argv: list[str], *, cwd: Path, env: dict[str, str], ready_marker: str | None = "Press Ctrl+C",
            timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``argv`` until the block ends; yields everything it printed up to ``ready_marker`` (None: a
    program that prints nothing on stdout, such as ``serve``)."""
    stderr = open(cwd / "server.stderr", "w")  # noqa: SIM115 - closed below; a file never blocks the server
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        if ready_marker is None:
            yield "", process
            return
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not any(ready_marker in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        printed = "".join(lines)
        assert ready_marker in printed, f"no {ready_marker!r}; stderr: {(cwd / 'server.stderr').read_text()}"
        yield printed, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr.close()


def wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as http:  # one client for every probe (httpx.get builds a TLS context each)
        while time.monotonic() < deadline:
            try:
                if http.get(f"{base}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"{base} never became ready")


def run_shell(script: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run pasted shell lines with bash, stopping at the first failure; returns stdout."""
    if shutil.which("bash") is None:
        import pytest

        pytest.skip("bash is not installed")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}\n{script}\n--- stderr\n{done.stderr}"
    return done.stdout


def json_documents(text: str) -> list[Any]:
    """Consecutive JSON documents, as several curl commands print them."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found
