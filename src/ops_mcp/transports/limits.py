"""What each agent and each credential holds open: sessions, requests being served, streams — and the rules
that keep one of them from crowding out the others.

Pure bookkeeping (no ASGI, no SDK): the admission middleware asks, this answers, with time passed in from an
injectable clock. The rules:

- A credential may hold ``sessions_per_credential`` sessions and its agent ``sessions_per_agent``. At its
  limit, a credential's (or agent's) sessions that have been idle ``crowded_idle_seconds`` are closed — to
  make room for a new one, and by a periodic sweep — so an abusive credential's idle sessions expire in a
  minute, not in 30; otherwise the new one is refused (429) with the time until one could expire as
  ``Retry-After``.
- All sessions together are capped at ``max_sessions``. At that cap, the least recently used idle session of
  whichever agent holds the most (if it holds more than the newcomer's agent) is closed; so an agent below
  its fair share always gets in, whatever others do.
- Requests being served (``calls_*``) and open streams (``streams_*``) are counted per agent and per
  credential; over either limit the request is refused (429) before any work is done.

A session is "idle" when none of its requests (its GET stream included) is in flight.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import ServerLimits

Closer = Callable[[], Awaitable[None]]
Kind = Literal["call", "stream", "handler"]
TOKEN_ID_CLAIM = "ops_mcp_token_id"  # set by the agent-token verifier: which issued token this is


@dataclass(frozen=True)
class Principal:
    """Who holds something open: the agent (policy) and the credential (one token, or a JWT's subject).

    ``token_id`` (an agent token's id) and ``expires_at`` (a JWT's ``exp``) say when what it holds must be
    closed: when the agent's current token is another one, or the time is past. They are not part of its
    identity (a refreshed JWT is the same holder).
    """

    agent: str
    credential: str
    token_id: str | None = field(default=None, compare=False)
    expires_at: int | None = field(default=None, compare=False)


def principal_of(access_token: Any) -> Principal:
    """The principal of a verified ``AccessToken``. Only digests are kept, never the token itself."""
    claims = getattr(access_token, "claims", None) or {}
    token_id = claims.get(TOKEN_ID_CLAIM)
    if token_id:
        raw = f"agent-token:{token_id}"  # which issued agent token (see agent_auth)
    elif claims.get("iss"):
        # A JWT is refreshed often; its issuer and subject are what stays the same for one holder.
        raw = f"jwt:{claims['iss']}|{access_token.subject or ''}"
    else:
        raw = f"token:{access_token.token}"
    return Principal(access_token.client_id, credential_key(raw), token_id=token_id or None,
                     expires_at=getattr(access_token, "expires_at", None))


def credential_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def agent_token_credential(token_id: str) -> str:
    """The credential key of the agent token whose stored id is ``token_id`` (for closing it on revocation)."""
    return credential_key(f"agent-token:{token_id}")


class Refused(Exception):
    """Over a limit: answer ``status`` with ``Retry-After: retry_after`` and ``message``."""

    def __init__(self, message: str, retry_after: float, status: int = 429) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, math.ceil(retry_after))
        self.status = status


@dataclass(eq=False)
class Session:
    key: str
    principal: Principal
    last_active: float
    close: Closer | None = None
    in_flight: int = 0
    pending: bool = True  # admitted, but the transport has not confirmed it exists yet

    def idle_for(self, now: float) -> float:
        return 0.0 if self.in_flight else now - self.last_active


@dataclass
class _Counts:
    by_agent: dict[str, int] = field(default_factory=dict)
    by_credential: dict[str, int] = field(default_factory=dict)

    def add(self, principal: Principal, delta: int) -> None:
        for table, key in ((self.by_agent, principal.agent), (self.by_credential, principal.credential)):
            value = table.get(key, 0) + delta
            if value > 0:
                table[key] = value
            else:
                table.pop(key, None)


class Ledger:
    def __init__(self, limits: ServerLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self._counts: dict[Kind, _Counts] = {"call": _Counts(), "stream": _Counts(), "handler": _Counts()}
        self._reserved = 0

    # -- sessions --------------------------------------------------------------------------------

    def reserve_session(self, principal: Principal) -> tuple[Session, list[Session]]:
        """A place for a new session of ``principal``, and the sessions to close to make it; or ``Refused``.

        The place counts at once (two concurrent openings cannot both take the last one); ``bind`` it to the
        transport's session id once known, or ``release`` it if the transport did not open one.
        """
        now = self.clock()
        evict: list[Session] = []
        mine = [s for s in self.sessions.values() if s.principal.credential == principal.credential]
        evict += self._make_room(mine, self.limits.sessions_per_credential, now, "this credential")
        agents = [s for s in self.sessions.values() if s.principal.agent == principal.agent and s not in evict]
        evict += self._make_room(agents, self.limits.sessions_per_agent, now, f"agent {principal.agent}")
        if len(self.sessions) - len(evict) >= self.limits.max_sessions:
            evict.append(self._fair_eviction(principal, evict, now))
        for session in evict:
            self.sessions.pop(session.key, None)
        self._reserved += 1
        placeholder = Session(key=f"reserved:{self._reserved}", principal=principal, last_active=now, in_flight=1)
        self.sessions[placeholder.key] = placeholder
        return placeholder, evict

    def _make_room(self, held: list[Session], limit: int, now: float, whose: str) -> list[Session]:
        """Sessions of one holder to close so that it holds fewer than ``limit``; ``Refused`` if none may go."""
        excess = len(held) - limit + 1
        if excess <= 0:
            return []
        crowded = self.limits.crowded_idle_seconds
        idle = sorted((s for s in held if not s.pending and s.idle_for(now) >= crowded), key=lambda s: s.last_active)
        if len(idle) >= excess:
            return idle[:excess]
        waiting = [crowded - s.idle_for(now) for s in held if not s.pending and not s.in_flight]
        raise Refused(f"Too many open sessions for {whose} (at most {limit}); close one (DELETE /mcp) or reuse it.",
                      min(waiting) if waiting else crowded)

    def _fair_eviction(self, principal: Principal, evict: list[Session], now: float) -> Session:
        held: dict[str, list[Session]] = {}
        for s in self.sessions.values():
            if s not in evict:
                held.setdefault(s.principal.agent, []).append(s)
        mine = len(held.get(principal.agent, []))
        biggest = max(held, key=lambda agent: len(held[agent]))
        idle = [s for s in held[biggest] if not s.pending and not s.in_flight]
        if len(held[biggest]) > mine + 1 and idle:
            return min(idle, key=lambda s: s.last_active)
        raise Refused("The server is at its session limit; try again shortly.", self.limits.crowded_idle_seconds,
                      status=503)

    def crowded_idle(self) -> list[Session]:
        """Sessions to end now: idle ``crowded_idle_seconds`` while their credential or agent is at its limit.

        So an abusive credential's sessions expire in a minute even when it stops asking for more.
        """
        now = self.clock()
        by_credential: dict[str, list[Session]] = {}
        by_agent: dict[str, list[Session]] = {}
        for session in self.sessions.values():
            by_credential.setdefault(session.principal.credential, []).append(session)
            by_agent.setdefault(session.principal.agent, []).append(session)
        crowded = [held for held in by_credential.values() if len(held) >= self.limits.sessions_per_credential]
        crowded += [held for held in by_agent.values() if len(held) >= self.limits.sessions_per_agent]
        found = {s.key: s for held in crowded for s in held
                 if not s.pending and s.idle_for(now) >= self.limits.crowded_idle_seconds}
        for key in found:
            self.sessions.pop(key, None)
        return list(found.values())

    def bind(self, placeholder: Session, key: str, close: Closer | None) -> Session:
        """The reserved place is now the transport's session ``key``."""
        self.sessions.pop(placeholder.key, None)
        session = Session(key=key, principal=placeholder.principal, last_active=self.clock(), close=close,
                          pending=False)
        self.sessions[key] = session
        return session

    def release(self, placeholder: Session) -> None:
        self.sessions.pop(placeholder.key, None)

    def ended(self, key: str) -> None:
        self.sessions.pop(key, None)

    def forget_missing(self, alive: Callable[[str], bool]) -> None:
        """Drop sessions the transport no longer has (ended by the client, idle timeout, crash)."""
        for key in [k for k, s in self.sessions.items() if not s.pending and not alive(k)]:
            self.sessions.pop(key, None)

    def session_busy(self, key: str, delta: int) -> None:
        """A request of session ``key`` started (+1) or finished (-1)."""
        session = self.sessions.get(key)
        if session is not None:
            session.in_flight = max(0, session.in_flight + delta)
            session.last_active = self.clock()

    def sessions_of(self, agent: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.principal.agent == agent]

    def count_sessions(self, principal: Principal) -> tuple[int, int]:
        """(the agent's, the credential's) sessions, reserved places included."""
        agent = sum(1 for s in self.sessions.values() if s.principal.agent == principal.agent)
        return agent, sum(1 for s in self.sessions.values() if s.principal.credential == principal.credential)

    # -- requests and streams --------------------------------------------------------------------

    def begin(self, principal: Principal, kind: Kind) -> None:
        """Count one more ``kind`` in flight for ``principal``, or raise ``Refused`` (nothing counted).

        ``call``: an HTTP request being served; ``stream``: an open GET or listen stream; ``handler``: an MCP
        request being handled (it can outlive its HTTP request: the legacy SSE transport answers 202 at once,
        and a client that hangs up does not stop the handler), with the same limits as ``call``.
        """
        counts = self._counts[kind]
        if kind == "stream":
            agent_limit, credential_limit = self.limits.streams_per_agent, self.limits.streams_per_credential
        else:
            agent_limit, credential_limit = self.limits.calls_per_agent, self.limits.calls_per_credential
        what = "open streams" if kind == "stream" else "requests in flight"
        if counts.by_credential.get(principal.credential, 0) >= credential_limit:
            raise Refused(f"Too many {what} for this credential (at most {credential_limit}); "
                          "wait for one to finish, then retry.", 1)
        if counts.by_agent.get(principal.agent, 0) >= agent_limit:
            raise Refused(f"Too many {what} for agent {principal.agent} (at most {agent_limit}); "
                          "wait for one to finish, then retry.", 1)
        counts.add(principal, 1)

    def end(self, principal: Principal, kind: Kind) -> None:
        self._counts[kind].add(principal, -1)

    def in_flight(self, principal: Principal, kind: Kind) -> tuple[int, int]:
        """(the agent's, the credential's) ``kind`` in flight."""
        counts = self._counts[kind]
        return counts.by_agent.get(principal.agent, 0), counts.by_credential.get(principal.credential, 0)
