"""Audit log: one record and one plain-English sentence per ``tools/call``, hash-chained.

Knows nothing of MCP: the server builds an :class:`AuditRecord`, passes arguments through
:func:`redact` first, and hands it to an :class:`AuditStore`.
"""

from .records import DECISIONS, AuditRecord
from .redact import DEFAULT_REDACTED_FIELDS, Redaction, redact, redact_text
from .sentence import render
from .since import parse_since
from .store import AuditEntry, AuditStore, VerifyResult

__all__ = [
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
