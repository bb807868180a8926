"""The console's services and its ``/admin`` mount over the HTTP app's runtime.

Built once per HTTP app: the account store, the web helpers, the approvals desk, the saved-access store
and the tool-list announcer that tells an agent's open sessions when its access changed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount

from ..governance.desk import ApprovalDesk
from ..policy import AgentPolicy
from ..policy_store import PolicyOverrides, PolicySync, policy_from_table
from ..server.list_changed import ToolListAnnouncer
from . import access, pages_access, pages_agents, pages_approvals, pages_audit, pages_live, signin
from .body_limit import BodyLimit
from .people import ConsoleStore
from .record import record_action
from .web import PREFIX, SecurityHeaders, Signed, Web, error_page

log = logging.getLogger("ops_mcp.console")


def _agent_of_request() -> str | None:
    token = get_access_token()
    return token.client_id if token is not None else None


@dataclass
class Console:
    web: Web
    state: Any  # transports.http.AppState
    overrides: PolicyOverrides
    sync: PolicySync
    desk: ApprovalDesk

    @property
    def runtime(self) -> Any:
        return self.state.runtime

    def token_store(self) -> Any:
        verifier = self.state.verifier.agent_tokens
        return verifier.store if verifier is not None else None

    def description(self, agent: str) -> str:
        saved = self.overrides.load().get(agent, {})
        configured = self.runtime.settings.agents.get(agent)
        return str(saved.get("description") or (configured.description if configured else ""))

    def save_policy(self, who: Signed, agent: str, table: dict[str, Any]) -> list[str]:
        """Validate, persist (wins over the TOML from now on), apply at once, record each change."""
        runtime = self.runtime
        new = policy_from_table(agent, table, runtime.catalogue, runtime.tenants)
        old: AgentPolicy | None = runtime.policies.get(agent)
        self.overrides.save(agent, table, by=who.name)
        self.sync.saved_here()
        runtime.policies.put(new)  # listeners: open sessions hear tools/list_changed
        if old is None:
            record_action(runtime.audit, who, "create_agent", f"created the agent {agent}", agent=agent)
            return [f"created the agent {agent}"]
        clauses = access.changes(old, new)
        for clause, area in clauses:
            record_action(runtime.audit, who, "set_access", clause, agent=agent, area=area)
        return [clause for clause, _ in clauses]


def build_console(state: Any, *, store: ConsoleStore | None = None) -> Mount:
    runtime = state.runtime
    if runtime.confirmer.console_url is None:
        # The approval links sent by URL-mode elicitation point at this very console.
        runtime.confirmer.console_url = state.base_url
    # Accounts, sessions and saved access live in the state store, shared by every replica using it.
    web = Web(
        store=store or runtime.store.console_store(), secure=state.base_url.startswith("https:")
    )
    overrides = runtime.overrides or runtime.store.policy_overrides()
    sync = PolicySync(overrides, runtime.policies, runtime.catalogue, runtime.tenants,
                      toml=runtime.settings.agents)
    console = Console(web, state, overrides, sync, ApprovalDesk(runtime.approvals))
    announcer = ToolListAnnouncer(runtime.policies, _agent_of_request, bus=state.notifier.bus)
    announcer.install(state.server)
    state.server.middleware.append(_sync_first(sync, runtime.settings.server.limits.revocation_poll_seconds))
    routes = [
        *signin.routes(console),
        *pages_access.routes(console),
        *pages_agents.routes(console),
        *pages_approvals.routes(console),
        *pages_audit.routes(console),
        *pages_live.routes(console),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit)],  # headers on a 413 too
        exception_handlers={HTTPException: error_page(web)},
    )
    app.state.console = console
    return Mount(PREFIX, app=app)


def _sync_first(sync: PolicySync, interval: float) -> Any:
    """Server middleware: before any MCP request, bring in access another replica saved (one stat()).

    The first request also starts a poller on the server's loop, so sessions open here hear of an edit
    saved on another replica within ``interval`` even when they send nothing (asyncio.run, which runs
    uvicorn, cancels it at shutdown).
    """
    started: list[asyncio.Task[None]] = []

    def check() -> None:
        try:
            sync.check()
        except Exception:  # an unreadable file keeps the policies in force; the operator sees why
            log.exception("could not read the saved access")

    async def poll() -> None:
        while True:
            await asyncio.sleep(interval)
            check()

    async def middleware(ctx: Any, call_next: Any) -> Any:
        if not started:
            started.append(asyncio.get_running_loop().create_task(poll()))
        check()
        return await call_next(ctx)

    return middleware
