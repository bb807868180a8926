"""The PostgreSQL state store: one database shared by every replica (needs ``ops-mcp[postgres]``).

Opening it checks the schema version (``migrations.check_schema``): a replica refuses to serve against a
database that was never migrated, or whose schema is older or newer than it knows. Secrets (webhook signing
secrets, refresh tokens, the confirmation-sealing key) are sealed with the secret key from
``$OPS_MCP_SECRET_KEY`` or ``[secrets] key_file``, which never sits in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...secretbox import SecretBox, SecretKeyError, load_secret_key
from .database import Database, MissingSecretKey
from .migrations import check_schema

if TYPE_CHECKING:
    from ...authorization.stores import PendingAuthorizations
    from ...config import Settings
    from ...events.secrets import WebhookSecrets
    from ...events.store import EventStore
    from ...governance.approvals import ApprovalStore
    from ...transports.agent_auth import AgentTokenStore
    from ..base import GrantStoreHandle
    from .console import PostgresConsoleStore, PostgresPolicyOverrides


class PostgresState:
    engine = "postgresql"

    def __init__(self, settings: Settings, db: Database | None = None, *, check: bool = True) -> None:
        assert settings.storage.url is not None
        self.settings = settings
        self.db = db or Database(
            settings.storage.url.get_secret_value(), pool_size=settings.storage.pool_size
        )
        self.where = self.db.where
        self._box: SecretBox | None = None
        self._box_lock = threading.Lock()
        if check:
            try:
                self.version = check_schema(self.db)
            except BaseException:
                self.db.close()
                raise

    def box(self) -> SecretBox:
        """The secret key's box, loaded on first use (``StorageUnavailable`` says how to set one)."""
        with self._box_lock:
            if self._box is None:
                try:
                    source = load_secret_key(self.settings.secret_key_file(), self.settings.state_dir())
                except SecretKeyError as exc:
                    raise MissingSecretKey(
                        f"with storage.url set, secrets kept in PostgreSQL are sealed with a key kept elsewhere: {exc}"
                    ) from None
                self._box = SecretBox(source.key)
            return self._box

    def audit(
        self, *, secrets: Iterable[str] = (), patterns: Iterable[str] | None = None,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> Any:
        from .audit import PostgresAuditStore

        extra: dict[str, Any] = {} if patterns is None else {"patterns": tuple(patterns)}
        return PostgresAuditStore(self.db, secrets=secrets, held=held, **extra)

    def approvals(self) -> ApprovalStore:
        from .governance import PostgresApprovalStore

        return PostgresApprovalStore(self.db)

    def agent_tokens(self) -> AgentTokenStore:
        from .governance import PostgresAgentTokenStore

        return PostgresAgentTokenStore(self.db)

    def events(self) -> EventStore:
        from .events import PostgresEventStore

        return PostgresEventStore(self.db)

    def webhook_secrets(self) -> WebhookSecrets:
        from .events import PostgresWebhookSecrets

        return PostgresWebhookSecrets(self.db, self.box())

    def grants(self) -> GrantStoreHandle:
        from .events import PostgresGrantStore

        return PostgresGrantStore(self.db, self.box())

    def pending_authorizations(self) -> PendingAuthorizations:
        from .events import PostgresPendingAuthorizations

        return PostgresPendingAuthorizations(self.db)

    def console_store(self) -> PostgresConsoleStore:
        from .console import PostgresConsoleStore

        return PostgresConsoleStore(self.db)

    def policy_overrides(self) -> PostgresPolicyOverrides:
        from .console import PostgresPolicyOverrides

        return PostgresPolicyOverrides(self.db)

    def sealing_key(self) -> bytes:
        from .governance import sealing_key

        return sealing_key(self.db, self.box())

    def ping(self) -> bool:
        return self.db.ping()

    def close(self) -> None:
        self.db.close()
