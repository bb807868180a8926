"""The state-store interface: everything ops-mcp persists, reached through one object per process.

Two implementations: ``EmbeddedState`` (files and SQLite in the state dir; zero setup, the default) and
``PostgresState`` (one PostgreSQL database shared by every replica). Each hands out stores with the same
public methods whatever the engine, so the executor, the CLI and the transports never ask which it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ..authorization.stores import PendingAuthorizations
    from ..console.people import ConsoleStore
    from ..events.secrets import WebhookSecrets
    from ..events.store import EventStore
    from ..governance.approvals import ApprovalStore
    from ..policy_store import PolicyOverrides
    from ..transports.agent_auth import AgentTokenStore


class GrantStoreHandle(Protocol):
    """A grant store the caller closes when done (``upstream.grants.GrantStore`` plus ``close``)."""

    def get(self, backend: str, connection: str) -> Any: ...

    def put(self, backend: str, connection: str, grant: Any) -> None: ...

    def close(self) -> None: ...


class StateStore(Protocol):
    engine: str  # "embedded" or "postgresql", for `ops-mcp check` and /readyz
    where: str  # the state dir, or the database URL without its password

    def audit(
        self, *, secrets: Iterable[str] = (), patterns: Iterable[str] | None = None,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> Any:
        """The hash-chained audit log (``append``, ``head``, ``count``, ``tail``, ``search``, ``verify``)."""

    def approvals(self) -> ApprovalStore:
        """Pending approvals and the one-time nonces of sealed request states."""

    def agent_tokens(self) -> AgentTokenStore:
        """Issued agent tokens (salted hashes)."""

    def events(self) -> EventStore:
        """Webhook events (deduplicated by delivery id) and rejected deliveries."""

    def webhook_secrets(self) -> WebhookSecrets:
        """Webhook signing secrets per back end and connection."""

    def grants(self) -> GrantStoreHandle:
        """Partner connections' refresh tokens (sealed with the secret key)."""

    def pending_authorizations(self) -> PendingAuthorizations:
        """Consents started by ``ops-mcp connect --via server``, finished by whichever replica gets the callback."""

    def console_store(self) -> ConsoleStore:
        """The console's accounts (salted scrypt hashes) and signed-in sessions (cookie digests)."""

    def policy_overrides(self) -> PolicyOverrides:
        """Access saved in the console (wins over the TOML), with a cheap ``stamp`` replicas poll."""

    def sealing_key(self) -> bytes:
        """The secret that seals confirmation request states (shared by every replica)."""

    def ping(self) -> bool:
        """True when the engine answers (``/readyz``)."""

    def close(self) -> None: ...
