"""Audit log: one record and one plain-English sentence per ``tools/call``, hash-chained.

Knows nothing of MCP: the server builds an :class:`AuditRecord` and hands it to an :class:`AuditBackend`
(the embedded :class:`AuditStore` on SQLite by default), which redacts, renders and chains it off the event
loop. Writes are recorded ahead and completed by a second chained record (see ``backend.py``).
"""

from .backend import AuditBackend
from .records import DECISIONS, AuditRecord
from .redact import DEFAULT_REDACTED_FIELDS, Redaction, redact, redact_text
from .sentence import render
from .since import parse_since
from .store import AuditEntry, AuditStore, VerifyResult

__all__ = [
    "AuditBackend",
    "DECISIONS",
    "DEFAULT_REDACTED_FIELDS",
    "Redaction",
    "AuditEntry",
    "AuditRecord",
    "AuditStore",
    "VerifyResult",
    "parse_since",
    "redact",
    "redact_text",
    "render",
]
