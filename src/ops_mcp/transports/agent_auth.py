"""Who is calling over HTTP: agent bearer tokens (``ops-mcp agents add``) and, optionally, OAuth JWTs.

The agent's identity comes only from its credential. A token maps to exactly one configured agent,
whose policy then decides everything; nothing the client sends (headers, client name) can change it.

Agent tokens are 256-bit random strings shown once. Only a salted SHA-256 of each is stored (a slow
password hash buys nothing for a high-entropy secret), in ``agent_tokens.json`` in the state dir,
which every replica re-reads when it changes, so ``agents revoke`` takes effect everywhere at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp.server.auth.provider import AccessToken

from ..config import ResourceServerOAuthConfig, Settings
from ..statefiles import write_atomic
from ..text import neutralise
from .limits import TOKEN_ID_CLAIM

log = logging.getLogger("ops_mcp.auth")

TOKEN_PREFIX = "omcp_"
TOKENS_FILE = "agent_tokens.json"


@dataclass(frozen=True)
class AgentToken:
    agent: str
    salt: str
    digest: str
    created_at: str
    hint: str  # the first characters, so a person can tell tokens apart; never enough to guess one

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(_digest(self.salt, token), self.digest)

    @property
    def token_id(self) -> str:
        """Names this issued token (not the secret: a prefix of its salted hash)."""
        return self.digest[:16]


def _digest(salt: str, token: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + token.encode("utf-8", "surrogatepass")).hexdigest()


class AgentTokenStore:
    """The issued tokens of one state dir; safe to share between threads and processes."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / TOKENS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._tokens: dict[str, AgentToken] = {}

    # -- reading -----------------------------------------------------------------------------------

    def tokens(self) -> dict[str, AgentToken]:
        with self._lock:
            self._reload_if_changed()
            return dict(self._tokens)

    def agent_for(self, token: str) -> str | None:
        entry = self.entry_for(token)
        return entry.agent if entry is not None else None

    def entry_for(self, token: str) -> AgentToken | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        found = None
        # Check every entry (no early exit) so timing says nothing about which agent, if any, matched.
        for entry in self.tokens().values():
            if entry.matches(token):
                found = entry
        return found

    def _reload_if_changed(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._tokens = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            # A half-written file cannot happen (writes are atomic renames); an unreadable one fails closed.
            log.error("cannot read %s; no agent token is accepted until it is fixed", self.path)
            self._stamp, self._tokens = stamp, {}
            return
        self._tokens = {name: AgentToken(agent=name, **entry) for name, entry in data.get("agents", {}).items()}
        self._stamp = stamp

    # -- writing -----------------------------------------------------------------------------------

    def issue(self, agent: str) -> str:
        """A new token for ``agent`` (replacing any previous one); the only time it is ever visible."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        entry = AgentToken(agent=agent, salt=salt, digest=_digest(salt, token),
                           created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), hint=token[:9])
        with self._lock:
            self._reload_if_changed()
            tokens = dict(self._tokens)
            tokens[agent] = entry
            self._write(tokens)
        return token

    def revoke(self, agent: str) -> bool:
        with self._lock:
            self._reload_if_changed()
            if agent not in self._tokens:
                return False
            tokens = dict(self._tokens)
            del tokens[agent]
            self._write(tokens)
        return True

    def _write(self, tokens: dict[str, AgentToken]) -> None:
        data = {"format": 1, "agents": {
            name: {"salt": t.salt, "digest": t.digest, "created_at": t.created_at, "hint": t.hint}
            for name, t in sorted(tokens.items())
        }}
        # Write-then-rename: readers (other replicas) never see a partial file.
        write_atomic(self.path, json.dumps(data, indent=1), prefix=".agent_tokens.")
        self._stamp = None  # force a re-read, so this process sees exactly what is on disk
        self._reload_if_changed()


class AgentTokenVerifier:
    """``TokenVerifier`` for ops-mcp agent tokens: the token's agent must still be configured."""

    def __init__(self, store: AgentTokenStore, known_agents: Container[str]) -> None:
        self.store = store
        self.known_agents = known_agents

    async def verify_token(self, token: str) -> AccessToken | None:
        entry = self.store.entry_for(token)
        if entry is None or entry.agent not in self.known_agents:
            return None
        # The token id tells this token from the agent's next one (rotation), for limits and revocation.
        return AccessToken(token=token, client_id=entry.agent, scopes=[], subject=entry.agent,
                           claims={TOKEN_ID_CLAIM: entry.token_id})


class JwtVerifier:
    """``TokenVerifier`` for OAuth 2.1 access tokens (JWT) from one issuer, checked against its JWKS.

    Signature, ``iss``, ``aud``, ``exp`` (and ``nbf``) are all required; the configured claim names the
    agent, which must be configured here. Keys come from a JWKS file or URL (fetched lazily, cached).

    Everything in a token is the sender's until its signature verifies: a ``kid`` that is no plausible key
    id is refused before any lookup, an unknown one refetches the JWKS at most once per
    ``JWKS_REFETCH_SECONDS`` (so random kids cannot make this server hammer the identity provider), and no
    header or claim value reaches a log line without being neutralised.
    """

    JWKS_REFETCH_SECONDS = 60.0

    def __init__(self, config: ResourceServerOAuthConfig, known_agents: Container[str], base_dir: Path, *,
                 clock: Any = time.monotonic) -> None:
        import jwt  # pyjwt[crypto]: needed only in this mode

        self._jwt = jwt
        self.config = config
        self.known_agents = known_agents  # live: an agent removed at run time is refused at once
        self.clock = clock
        self._jwks_client = None
        self._file_keys: Any = None
        self._last_refetch = -float("inf")
        self._refetch_lock = threading.Lock()
        if config.jwks_file is not None:
            path = config.jwks_file if config.jwks_file.is_absolute() else base_dir / config.jwks_file
            self._file_keys = jwt.PyJWKSet.from_dict(json.loads(path.read_text()))
        elif config.jwks_url is not None:  # the config allows exactly one of the two
            self._jwks_client = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300)

    async def verify_token(self, token: str) -> AccessToken | None:
        import anyio

        try:
            kid = self._kid(token)
            key = await anyio.to_thread.run_sync(self._signing_key, kid)
            claims = self._jwt.decode(
                token, key, algorithms=self.config.algorithms, audience=self.config.audience,
                issuer=self.config.issuer, leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except Exception as exc:  # any failure is the same 401; the reason is for the operator only
            log.info("rejected a bearer JWT: %s", neutralise(type(exc).__name__ + (f": {exc}" if str(exc) else ""),
                                                             200))
            return None
        agent = claims.get(self.config.agent_claim)
        if not isinstance(agent, str) or agent not in self.known_agents:
            log.info("rejected a bearer JWT: claim %r names no configured agent", self.config.agent_claim)
            return None
        scopes = _scopes(claims)
        missing = [s for s in self.config.required_scopes if s not in scopes]
        if missing:
            log.info("rejected a bearer JWT for %s: missing scopes %s", agent, ", ".join(missing))
            return None
        return AccessToken(
            token=token, client_id=agent, scopes=scopes, expires_at=int(claims["exp"]),
            subject=str(claims.get("sub")) if claims.get("sub") is not None else None,
            claims={"iss": claims["iss"]},
        )

    def _kid(self, token: str) -> str | None:
        kid = self._jwt.get_unverified_header(token).get("kid")
        if kid is not None and (not isinstance(kid, str) or not _KID.fullmatch(kid)):
            raise self._jwt.InvalidTokenError("the token's kid is not a plausible key id")
        return kid

    def _signing_key(self, kid: str | None) -> Any:
        if self._jwks_client is not None:
            return self._remote_key(kid)
        keys = list(self._file_keys.keys)
        if kid is not None:
            return self._file_keys[kid].key
        if len(keys) == 1:
            return keys[0].key
        raise self._jwt.InvalidTokenError("token has no kid and the JWKS holds several keys")

    def _remote_key(self, kid: str | None) -> Any:
        client = self._jwks_client
        assert client is not None
        keys = client.get_signing_keys()  # cached for the client's lifespan
        found = _match(keys, kid)
        if found is None and kid is not None:
            # A key we have not seen: perhaps the provider rotated. Look again, but not for every stranger.
            with self._refetch_lock:
                now = self.clock()
                due = now - self._last_refetch >= self.JWKS_REFETCH_SECONDS
                if due:
                    self._last_refetch = now
            if due:
                found = _match(client.get_signing_keys(refresh=True), kid)
        if found is None:
            raise self._jwt.InvalidTokenError("no key in the JWKS matches the token")
        return found.key


_KID = re.compile(r"[A-Za-z0-9._~+/=:-]{1,128}")


def _match(keys: list[Any], kid: str | None) -> Any:
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((k for k in keys if k.key_id == kid), None)


def _scopes(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("scope", claims.get("scp", []))
    if isinstance(raw, str):
        return raw.split()
    return [str(s) for s in raw] if isinstance(raw, list) else []


class CompositeVerifier:
    """JWTs (three dot-separated parts) go to the JWT verifier, everything else to the agent tokens."""

    def __init__(self, agent_tokens: AgentTokenVerifier | None, jwt: JwtVerifier | None) -> None:
        self.agent_tokens = agent_tokens
        self.jwt = jwt
        self.failures = 0

    async def verify_token(self, token: str) -> AccessToken | None:
        started = time.perf_counter()
        if self.jwt is not None and token.count(".") == 2:
            result = await self.jwt.verify_token(token)
        elif self.agent_tokens is not None:
            result = await self.agent_tokens.verify_token(token)
        else:
            result = None
        if result is None:
            self.failures += 1
            log.info("rejected a bearer credential (%.1f ms)", (time.perf_counter() - started) * 1000)
        return result


def build_verifier(settings: Settings, agents: Container[str], store: AgentTokenStore | None = None) -> CompositeVerifier:
    """``store``: where issued agent tokens live (the runtime's state store; default: the state dir)."""
    oauth = settings.server.oauth
    base_dir = settings.config_path.parent if settings.config_path else Path.cwd()
    jwt = JwtVerifier(oauth, agents, base_dir) if oauth is not None else None
    tokens = None
    if oauth is None or oauth.allow_agent_tokens:
        tokens = AgentTokenVerifier(store or AgentTokenStore(settings.state_dir()), agents)
    return CompositeVerifier(tokens, jwt)
