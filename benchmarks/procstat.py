"""A process's CPU time so far, read from /proc/<pid>/stat (user + system), for per-call CPU figures."""

from __future__ import annotations

import os
from pathlib import Path


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (a tick is 1/``SC_CLK_TCK`` s, usually 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
