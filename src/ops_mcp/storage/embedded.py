"""The embedded state store: files and SQLite databases in the state dir (0700, files 0600).

The zero-setup default for ``make run``, stdio and small installs. Several processes on one machine may
share the directory (SQLite's locks, atomic file renames); replicas on several machines need PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..authorization.stores import PendingAuthorizations
    from ..config import Settings
    from ..console.people import SqliteConsoleStore
    from ..events.secrets import WebhookSecrets
    from ..events.store import EventStore
    from ..governance.approvals import ApprovalStore
    from ..policy_store import JsonPolicyOverrides
    from ..transports.agent_auth import AgentTokenStore
    from .base import GrantStoreHandle

AUDIT_FILE = "audit.sqlite3"
APPROVALS_FILE = "approvals.sqlite3"


class EmbeddedState:
    engine = "embedded"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state_dir: Path = settings.state_dir()
        self.where = str(self.state_dir)

    def audit(
        self, *, secrets: Iterable[str] = (), patterns: Iterable[str] | None = None,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> Any:
        from ..audit import AuditStore

        extra: dict[str, Any] = {} if patterns is None else {"patterns": tuple(patterns)}
        return AuditStore(self.state_dir / AUDIT_FILE, secrets=secrets, held=held, **extra)

    def approvals(self) -> ApprovalStore:
        from ..governance.approvals import ApprovalStore

        return ApprovalStore(self.state_dir / APPROVALS_FILE)

    def agent_tokens(self) -> AgentTokenStore:
        from ..transports.agent_auth import AgentTokenStore

        return AgentTokenStore(self.state_dir)

    def events(self) -> EventStore:
        from ..events.store import EVENTS_FILE, EventStore

        return EventStore(self.state_dir / EVENTS_FILE)

    def webhook_secrets(self) -> WebhookSecrets:
        from ..events.secrets import WebhookSecrets

        return WebhookSecrets(self.state_dir)

    def grants(self) -> GrantStoreHandle:
        from ..authorization.stores import open_grant_store

        return open_grant_store(self.settings)

    def pending_authorizations(self) -> PendingAuthorizations:
        from ..authorization.stores import open_pending

        return open_pending(self.settings)

    def console_store(self) -> SqliteConsoleStore:
        from ..console.people import SqliteConsoleStore

        return SqliteConsoleStore(self.state_dir)

    def policy_overrides(self) -> JsonPolicyOverrides:
        from ..policy_store import JsonPolicyOverrides

        return JsonPolicyOverrides(self.state_dir)

    def sealing_key(self) -> bytes:
        from ..governance.sealing import load_key

        return load_key(self.state_dir)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass
