"""``ops-mcp check`` against back ends that do not answer: one line per back end, a non-zero exit, no traceback.

The real CLI runs as a subprocess. Both back ends point at a loopback port that is bound but not listening
(the socket stays open for the test, so nothing else can take the port): every connection is refused.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

OPS_MCP = str(Path(sys.executable).with_name("ops-mcp"))


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections to it are refused
        yield sock.getsockname()[1]


def test_unreachable_back_ends_are_one_line_each_and_a_failing_exit(tmp_path: Path, closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}"
    config = tmp_path / "ops-mcp.toml"
    config.write_text(f"""
[storage]
dir = "state"

[backends.remote]
base_url = "{base}/remote"
token = "not-a-real-token"

[backends.remoteops]
base_url = "{base}/remoteops/v1"
token = "not-a-real-token"
""")
    done = subprocess.run([OPS_MCP, "check", "--config", str(config)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    for title, mount in (("Remote", "/remote"), ("RemoteOps", "/remoteops/v1")):
        line = f"{title} (default) via {base}{mount}: unreachable after 4 attempts"
        assert [x for x in done.stdout.splitlines() if x == line] == [line], output
    # Nothing else claims a back end is fine, and no line mentions one twice.
    probes = [x for x in done.stdout.splitlines() if re.match(r"^Remote(Ops)? \(", x)]
    assert len(probes) == 2, output
    assert "reachable (" not in done.stdout
