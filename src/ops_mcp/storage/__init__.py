"""Where ops-mcp keeps its state: the embedded store (files and SQLite in the state dir, the default) or
PostgreSQL (``[storage] url`` or ``$OPS_MCP_STORAGE_URL``), behind one interface (``base.StateStore``).

``open_state`` picks the engine from the settings; the PostgreSQL driver is imported only then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import StateStore
from .embedded import APPROVALS_FILE, AUDIT_FILE, EmbeddedState

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["APPROVALS_FILE", "AUDIT_FILE", "EmbeddedState", "StateStore", "open_state"]


def open_state(settings: Settings, *, check_schema: bool = True) -> StateStore:
    """The state store the settings name. Against PostgreSQL, ``check_schema`` refuses a database whose
    schema version is not exactly this code's (``SchemaMismatch``); unreachable: ``StorageUnavailable``."""
    if settings.storage.url is None:
        return EmbeddedState(settings)
    from .postgres import PostgresState

    return PostgresState(settings, check=check_schema)
