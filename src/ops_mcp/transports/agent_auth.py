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
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp.server.auth.provider import AccessToken

from ..config import ResourceServerOAuthConfig, Settings

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
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        found = None
        # Check every entry (no early exit) so timing says nothing about which agent, if any, matched.
        for entry in self.tokens().values():
            if entry.matches(token):
                found = entry.agent
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": 1, "agents": {
            name: {"salt": t.salt, "digest": t.digest, "created_at": t.created_at, "hint": t.hint}
            for name, t in sorted(tokens.items())
        }}
        # Write-then-rename: readers (other replicas) never see a partial file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".agent_tokens.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stamp = None  # force a re-read, so this process sees exactly what is on disk
        self._reload_if_changed()


class AgentTokenVerifier:
    """``TokenVerifier`` for ops-mcp agent tokens: the token's agent must still be configured."""

    def __init__(self, store: AgentTokenStore, known_agents: Container[str]) -> None:
        self.store = store
        self.known_agents = known_agents

    async def verify_token(self, token: str) -> AccessToken | None:
        agent = self.store.agent_for(token)
        if agent is None or agent not in self.known_agents:
            return None
        return AccessToken(token=token, client_id=agent, scopes=[], subject=agent)


class JwtVerifier:
    """``TokenVerifier`` for OAuth 2.1 access tokens (JWT) from one issuer, checked against its JWKS.

    Signature, ``iss``, ``aud``, ``exp`` (and ``nbf``) are all required; the configured claim names the
    agent, which must be configured here. Keys come from a JWKS file or URL (fetched lazily, cached).
    """

    def __init__(self, config: ResourceServerOAuthConfig, known_agents: Container[str], base_dir: Path) -> None:
        import jwt  # pyjwt[crypto]: needed only in this mode

        self._jwt = jwt
        self.config = config
        self.known_agents = known_agents  # live: an agent removed at run time is refused at once
        self._jwks_client = None
        self._file_keys: Any = None
        if config.jwks_file is not None:
            path = config.jwks_file if config.jwks_file.is_absolute() else base_dir / config.jwks_file
            self._file_keys = jwt.PyJWKSet.from_dict(json.loads(path.read_text()))
        elif config.jwks_url is not None:  # the config allows exactly one of the two
            self._jwks_client = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300)

    async def verify_token(self, token: str) -> AccessToken | None:
        import anyio

        try:
            key = await anyio.to_thread.run_sync(self._signing_key, token)
            claims = self._jwt.decode(
                token, key, algorithms=self.config.algorithms, audience=self.config.audience,
                issuer=self.config.issuer, leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except Exception as exc:  # any failure is the same 401; the reason is for the operator only
            log.info("rejected a bearer JWT: %s", type(exc).__name__ + (f": {exc}" if str(exc) else ""))
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

    def _signing_key(self, token: str) -> Any:
        if self._jwks_client is not None:
            return self._jwks_client.get_signing_key_from_jwt(token).key
        kid = self._jwt.get_unverified_header(token).get("kid")
        keys = list(self._file_keys.keys)
        if kid is not None:
            return self._file_keys[kid].key
        if len(keys) == 1:
            return keys[0].key
        raise self._jwt.InvalidTokenError("token has no kid and the JWKS holds several keys")


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


def build_verifier(settings: Settings, agents: Container[str]) -> CompositeVerifier:
    oauth = settings.server.oauth
    base_dir = settings.config_path.parent if settings.config_path else Path.cwd()
    jwt = JwtVerifier(oauth, agents, base_dir) if oauth is not None else None
    tokens = None
    if oauth is None or oauth.allow_agent_tokens:
        tokens = AgentTokenVerifier(AgentTokenStore(settings.state_dir()), agents)
    return CompositeVerifier(tokens, jwt)
