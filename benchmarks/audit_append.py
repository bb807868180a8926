"""Figure 2c: how long one audit append takes (SQLite, WAL, the hash chain), ops-mcp only.

Moved here from the audit tests (issue 11: no timing in tests). A realistic record of an allowed
write — redacted arguments, target ids — is appended ``count`` times to a fresh store after a
warm-up; the figure is the mean per append over each run, then the median over runs. The store
is verified at the end, so a broken chain is reported rather than timed. Runnable alone:
``python -m benchmarks.audit_append``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from . import ops_internals
from .report import Row, Section
from .stats import Spread

WARMUP = 200


def _records(make, redact, count: int) -> list:
    return [
        make(
            agent="people-ops", tenant="acme", tenant_label="Acme GmbH", backend="remote",
            backend_title="Remote", tool="remote_approve_timeoff", tool_title="Approve time off",
            area="remote.timeoff", access="write", decision="allowed",
            target_ids={"timeoff_id": f"to_{i}", "employment_id": "em_9"}, http_status=200,
            duration_ms=84.2, upstream_request_id="req_abc", transport="stdio", session_id="s1",
            arguments=redact({"timeoff_id": f"to_{i}", "work_email": "a@b.c", "note": "n"}),
        )
        for i in range(count)
    ]  # fmt: skip


def measure(runs: int, count: int) -> tuple[list[float], str]:
    """Mean ms per append of each run, and the verification outcome of the last store."""
    means, verified = [], "not run"
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="ops-mcp-bench-audit-") as state:
            store, make, redact = ops_internals.audit_store(Path(state) / "audit.db")
            try:
                records = _records(make, redact, WARMUP + count)
                for record in records[:WARMUP]:
                    store.append(record)
                began = time.perf_counter()
                for record in records[WARMUP:]:
                    store.append(record)
                means.append((time.perf_counter() - began) / count * 1000)
                result = store.verify()
                verified = "the chain verifies" if result.ok else f"verification FAILED: {result}"
            finally:
                store.close()
    return means, verified


def section(means: list[float], verified: str, count: int) -> Section:
    row = Row(
        "2c audit append",
        "mean per append, SQLite WAL, hash-chained (a redacted write record)",
        Spread.of(means).show("{:.3f}", " ms") if means else "not measured",
        "peer: keeps no audit log",
        "–",
        "new figure (no previous)",
    )
    notes = [
        f"{len(means)} runs of {count:,} appends to a fresh store after {WARMUP} warm-up appends, in this process; "
        f"mean per append of each run, then the median (min–max). After the last run {verified}.",
    ]
    return Section("2c. Audit append", [row], notes=notes)


if __name__ == "__main__":
    found, check = measure(3, 2000)
    print(f"audit append: {Spread.of(found).show('{:.3f}', ' ms')} per append over 2,000 records; {check}")
