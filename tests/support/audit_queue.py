"""The audit store's bounded queue, seen from the callers, the same on every storage engine."""

from __future__ import annotations

from typing import Any

import anyio

from ops_mcp.audit import AuditRecord

from .waiting import eventually


async def writers_give_up_while_the_store_is_stalled(store: Any) -> None:
    """With ``store``'s writer stalled (the caller holds its database lock) and room for one record: three
    writers — one record taken by the stalled writer, one queued, one waiting for room — then every caller
    gives up. Asserts the queue held exactly one record meanwhile; what was written is the caller's to check."""
    async with anyio.create_task_group() as tasks:
        for i in range(3):
            tasks.start_soon(lambda i=i: store.write(AuditRecord(agent=f"a{i}", tool="t", decision="allowed")))

        async def full() -> bool:
            return bool(store.backlog == 1)

        assert await eventually(full)
        tasks.cancel_scope.cancel()
