"""Subprocess helper for the durability tests: append records to an audit store.

    python _writer.py DB_PATH COUNT AGENT      # COUNT < 0: append until killed

Prints "ready" once the first record is committed and "appended N" after every tenth, so the parent can
act on progress (e.g. kill mid-write) instead of waiting a fixed time.
Not a test module (no test_ prefix).
"""

from __future__ import annotations

import sys

from ops_mcp.audit import AuditRecord, AuditStore, redact


def main() -> None:
    path, count, agent = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = AuditStore(path)
    i = 0
    while count < 0 or i < count:
        store.append(
            AuditRecord(
                agent=agent,
                tenant="acme",
                tenant_label="Acme GmbH",
                backend="remote",
                backend_title="Remote",
                tool="remote_approve_timeoff",
                tool_title="Approve time off",
                decision="allowed",
                target_ids={"timeoff_id": f"to_{i}", "employment_id": "em_9"},
                http_status=200,
                duration_ms=12.5,
                # A long-ish argument so each transaction writes more than a page.
                arguments=redact({"timeoff_id": f"to_{i}", "note": "x" * 3000, "work_email": "a@b.c"}),
            )
        )
        if i == 0:
            print("ready", flush=True)
        i += 1
        if i % 10 == 0:
            print(f"appended {i}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
