"""Fixtures for the audit tests (local so the project-wide conftest stays the lead's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ops_mcp.audit import AuditRecord, AuditStore


def make_record(**overrides: Any) -> AuditRecord:
    """A realistic allowed call; tests override only what they are about."""
    fields: dict[str, Any] = {
        "agent": "people-ops",
        "tenant": "acme",
        "tenant_label": "Acme GmbH",
        "backend": "remote",
        "backend_title": "Remote",
        "tool": "remote_approve_timeoff",
        "tool_title": "Approve time off",
        "area": "remote.timeoff",
        "access": "write",
        "decision": "allowed",
        "target_ids": {"timeoff_id": "to_123", "employment_id": "em_9"},
        "http_status": 200,
        "duration_ms": 84.2,
        "upstream_request_id": "req_abc",
        "arguments": {"timeoff_id": "to_123", "note": "approved by script"},
        "transport": "stdio",
        "session_id": "s1",
    }
    fields.update(overrides)
    return AuditRecord(**fields)


@pytest.fixture
def record() -> Callable[..., AuditRecord]:
    return make_record


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    s = AuditStore(tmp_path / "state" / "audit.db")
    yield s
    s.close()
