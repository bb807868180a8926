"""Fair and bounded, measured: what a session flood and a slowloris cost another agent (issue 12, items 11, 13).

Run: ``.venv/bin/python -m benchmarks.abuse [--flood 3000] [--slow 300]``. One ``ops-mcp serve --transport
http`` process (default ``[server.limits]``, except a 2 s header deadline so the run is short) on loopback;
the agent ``nobody`` (may see no tool) floods, ``hr`` works. Prints one JSON object: statuses of the flood,
the server process's RSS before and after, and ``hr``'s tools/list latency before, during and after each
attack.
Numbers, not assertions: the tests assert the behaviour (tests/hostile/).
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ops_mcp.config import load_settings
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.http import free_port

from .servers import ops_http_argv

CONFIG = """
[storage]
dir = "state"
[backends.remote.connections.acme]
label = "Acme GmbH"
[agents.hr]
areas = { "remote.timeoff" = "read" }
[agents.nobody]
areas = {}
[server.limits]
header_timeout_seconds = 2
"""
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "b", "version": "1"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def latency_ms(base: str, token: str, n: int = 30) -> dict[str, float]:
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    session = httpx.post(base + "/mcp", json=INIT, headers=headers).headers["mcp-session-id"]
    headers |= {"mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
    httpx.post(base + "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    times = []
    with httpx.Client(headers=headers, timeout=30) as client:
        for i in range(n):
            started = time.perf_counter()
            answer = client.post(base + "/mcp", json={"jsonrpc": "2.0", "id": i + 2, "method": "tools/list"})
            assert answer.status_code == 200, answer.status_code
            times.append((time.perf_counter() - started) * 1000)
    return {"median": round(statistics.median(times), 1), "max": round(max(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=3000)
    parser.add_argument("--slow", type=int, default=300)
    parser.add_argument("--nofile", type=int, default=256, help="the server's open-file limit (as reported)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp())
    (directory / "ops-mcp.toml").write_text(CONFIG)
    settings = load_settings(directory / "ops-mcp.toml")
    store = AgentTokenStore(settings.state_dir())
    hr, nobody = store.issue("hr"), store.issue("nobody")
    port = free_port()
    server = subprocess.Popen(
        ops_http_argv(directory / "ops-mcp.toml", port),
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile)),
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/readyz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    out: dict[str, object] = {
        "server_open_file_limit": args.nofile,
        "rss_start_mb": rss_mb(server.pid),
        "hr_before": latency_ms(base, hr),
    }

    flooder = httpx.Client(
        headers={**ACCEPT, "Authorization": f"Bearer {nobody}"},
        timeout=30,
        limits=httpx.Limits(max_connections=8),
    )

    def open_one(_: int) -> int:
        return flooder.post(base + "/mcp", json=INIT).status_code

    with ThreadPoolExecutor(8) as pool:
        flood = pool.map(open_one, range(args.flood))
        out["hr_during_flood"] = latency_ms(base, hr)
        out["flood_statuses"] = dict(Counter(flood))
    out["rss_after_flood_mb"] = rss_mb(server.pid)
    out["hr_after_flood"] = latency_ms(base, hr)

    slow = []
    for _ in range(args.slow):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(sock)
    out["hr_during_slowloris"] = latency_ms(base, hr)
    endings: Counter[str] = Counter()
    for sock in slow:
        sock.settimeout(10)
        try:
            first = sock.recv(100)
            endings["408" if first.startswith(b"HTTP/1.1 408") else "closed" if not first else "other"] += 1
        except ConnectionResetError:
            endings["reset"] += 1
        except TimeoutError:
            endings["still open after 10 s"] += 1
        sock.close()
    out["slow_connections_ended_by_server"] = dict(endings)
    out["rss_end_mb"] = rss_mb(server.pid)
    server.terminate()
    server.wait(10)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
