"""Subprocess for the PostgreSQL crash test: records a write ahead in the shared chain, says so, and waits to
be killed (SIGKILL) with its request "in flight".

    OPS_MCP_STORAGE_URL=postgresql://… OPS_MCP_SECRET_KEY=… python _crashing_pg_writer.py STATE_DIR

Not a test module (no test_ prefix).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading

from ops_mcp.audit import AuditRecord
from ops_mcp.config import Settings
from ops_mcp.storage import open_state


async def main() -> None:
    state = open_state(Settings(storage={"url": os.environ["OPS_MCP_STORAGE_URL"], "dir": sys.argv[1]}))
    store = state.audit()
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
