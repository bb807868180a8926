"""Subprocess for the crash test: records a write ahead, says so, and waits to be killed (SIGKILL).

    python _crashing_writer.py DB_PATH
    python _crashing_writer.py postgresql://… STATE_DIR   (the chain in PostgreSQL; $OPS_MCP_SECRET_KEY set)

Not a test module (no test_ prefix).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from ops_mcp.audit import AuditRecord, AuditStore


def open_store(where: str) -> Any:
    if "://" not in where:
        return AuditStore(where)
    from ops_mcp.config import Settings
    from ops_mcp.storage import open_state

    return open_state(Settings(storage={"url": where, "dir": sys.argv[2]})).audit()


async def main() -> None:
    store = open_store(sys.argv[1])
    await store.write(AuditRecord(agent="writer", tool="remote_approve_timeoff", decision="allowed"))
    ahead = AuditRecord(
        agent="writer",
        tool="remote_approve_timeoff",
        tool_title="Approve time off",
        decision="started",
        phase="started",
        target_ids={"timeoff_id": "to_1"},
    )
    await store.write(ahead)
    print("started", flush=True)
    threading.Event().wait()  # the request is "in flight" until the parent kills this process


if __name__ == "__main__":
    asyncio.run(main())
