"""A raw JSON-RPC client for stdio MCP servers (the SDK notes' "rawclient" method).

Timing with the SDK ``Client`` would add the client's own import and validation cost to every
figure; a few lines of JSON over pipes measure the server alone. The server's stdout is read through
a buffered reader (one ``read()`` per pipe-full, not one per byte) and requests are flushed once per
message, so the client's share of a call stays small; ``client_cpu_s`` counts what is left of it
(this process's CPU time spent inside ``request``), so a figure can report it apart from the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = "2025-11-25"  # the handshake era, what most hosts speak today
BUFFER = 1 << 16


class ServerError(RuntimeError):
    """The server answered a request with a JSON-RPC error, or went away."""


class StdioServer:
    """One server process: spawn, handshake, ``tools/list``, then sequential requests."""

    def __init__(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.argv = argv
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.tools: list[dict[str, Any]] = []
        self._next_id = 0
        self.client_cpu_s = 0.0  # CPU this process spent encoding, writing, reading and decoding
        self.received_bytes = 0

    def start(self) -> float:
        """Spawn and list tools; returns seconds from spawn to the first ``tools/list`` reply."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - lives with the process
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.env,
            cwd=self.cwd,
            bufsize=BUFFER,  # a buffered reader: a 4 KB result line is one read(), not 4,000
        )
        if log is not subprocess.DEVNULL:
            log.close()  # the child holds its own copy
        self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "ops-mcp-bench", "version": "1"},
            },
        )
        self.notify("notifications/initialized")
        self.tools = self.request("tools/list", {})["tools"]
        return time.perf_counter() - began

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})})

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        cpu = time.process_time()
        try:
            return self._exchange(method, params)
        finally:
            self.client_cpu_s += time.process_time() - cpu

    def _exchange(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        rid = self._next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise ServerError(
                    f"{self.argv[0]} closed stdout (exit {self.proc.poll()}); see {self.log_path}"
                )
            self.received_bytes += len(line)
            message = json.loads(line)
            if message.get("id") != rid or "method" in message:
                continue  # notifications and server-initiated requests are not ours to time
            if "error" in message:
                raise ServerError(f"{method}: {message['error']}")
            return message["result"]

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()  # one write() per message

    def memory_kb(self, key: str = "VmHWM") -> int:
        """``VmHWM`` is the peak resident set size; ``VmRSS`` the current one (kB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise ServerError(f"{key} missing from /proc/{self.pid}/status")

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            with contextlib.suppress(BrokenPipeError):  # it may be gone already
                self.proc.stdin.close()  # stdio servers exit when their input ends
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> StdioServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
