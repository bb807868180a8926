"""``ops-mcp connect BACKEND --connection NAME``: obtain a company's consent for a partner connection, once.

Prints the authorize URL for the company admin, receives the answer on a one-shot loopback listener
(default) or on the running HTTP server (``--via server``: its ``/oauth/callback/BACKEND`` route), and
stores the company's refresh token encrypted (see ``secretbox.py``). ``ops-mcp connect --new-key``
prints a fresh secret key.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from .common import add_config, config_of, fail, load_settings_or_exit, open_state_or_exit

if TYPE_CHECKING:
    from ..authorization.flow import AuthorizationRequest
    from ..config import Settings
    from ..tenants import Tenant

DEFAULT_WAIT_S = 600.0
POLL_S = 0.5


def register(sub: Any) -> None:
    parser = sub.add_parser("connect", help="obtain a company's consent for a partner connection (OAuth)")
    add_config(parser)
    parser.add_argument("backend", nargs="?", help="the back end, e.g. remote")
    parser.add_argument("--connection", help="the connection (its [backends.B.connections.NAME] table)")
    parser.add_argument("--via", choices=["loopback", "server"], default="loopback",
                        help="where the consent answer arrives: a one-shot listener here (default) or the "
                        "running HTTP server's /oauth/callback/BACKEND")
    parser.add_argument("--host", default="127.0.0.1", help="loopback listener address")
    parser.add_argument("--port", type=int, default=0, help="loopback listener port (default: any free port)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_WAIT_S, help="seconds to wait for the consent")
    parser.add_argument("--new-key", action="store_true", help="print a fresh secret key and exit")
    parser.set_defaults(handler=cmd_connect)


def cmd_connect(args: argparse.Namespace) -> int:
    if args.new_key:
        return _new_key()
    if not args.backend or not args.connection:
        raise fail("usage: ops-mcp connect BACKEND --connection NAME (or ops-mcp connect --new-key)")
    settings = load_settings_or_exit(config_of(args))
    tenant = _tenant(settings, args.backend, args.connection)
    if args.via == "server":
        return _via_server(settings, tenant, args.timeout)
    return _via_loopback(settings, tenant, args.host, args.port, args.timeout)


def _new_key() -> int:
    from ..secretbox import KEY_ENV, new_key

    print(new_key())
    print(f"# put this in ${KEY_ENV}, or in a file (chmod 600, outside the state dir) named by "
          "[secrets] key_file", file=sys.stderr)
    return 0


def _tenant(settings: Settings, backend: str, name: str) -> Tenant:
    from ..authorization.flow import ConnectError, check_connectable
    from ..catalogue.loader import catalogue_with
    from ..config import ConfigError
    from ..tenants import build_tenants

    try:
        tenants = build_tenants(settings, catalogue_with(settings.extra_manifests()))
    except (ConfigError, OSError, ValueError) as exc:
        raise fail(f"configuration error: {exc}") from None
    tenant = tenants.get(backend, name)
    if tenant is None:
        names = ", ".join(tenants.names(backend)) or "none"
        raise fail(f"unknown connection {name!r} of {backend!r}; configured: {names}")
    try:
        check_connectable(tenant)
    except ConnectError as exc:
        raise fail(str(exc)) from None
    return tenant


def _show(request: AuthorizationRequest, where: str) -> None:
    conn = request.tenant.connection
    print(f"Ask an admin of company {conn.company_id} to open this URL and approve "
          f"{request.tenant.backend} connection {request.tenant.name}:")
    print(request.url)
    print(f"Waiting for the answer on {where} ...", flush=True)


def _via_loopback(settings: Settings, tenant: Tenant, host: str, port: int, timeout: float) -> int:
    import anyio

    from ..authorization.flow import ConnectError, begin, callback_path, complete
    from ..authorization.loopback import Callback, LoopbackListener
    from ..authorization.pages import connected_page, failed_page

    grants = _grant_store(settings)
    try:
        listener = LoopbackListener(host, port, callback_path(tenant.backend))
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None
    outcome: dict[str, str] = {}

    def on_callback(answer: Callback) -> tuple[int, str]:
        if answer.error or not answer.code:
            outcome["error"] = f"the company admin did not approve ({answer.error or 'no code'}); nothing was stored"
            return 400, failed_page(f"Not connected: {outcome['error']}.")
        try:
            done = anyio.run(complete, request, answer.code, grants)
        except ConnectError as exc:
            outcome["error"] = str(exc)
            return 400, failed_page(f"Not connected: {exc}.")
        outcome["company"] = done.company_id
        return 200, connected_page(done.backend, done.connection, done.company_id)

    try:
        request = begin(tenant, listener.redirect_uri)
        _show(request, listener.redirect_uri)
        answered = listener.wait(request.state, on_callback, timeout)
    finally:
        listener.close()
        grants.close()
    return _report(tenant, answered, outcome.get("company"), outcome.get("error"), settings)


def _via_server(settings: Settings, tenant: Tenant, timeout: float) -> int:
    from ..authorization.flow import begin, callback_path

    _grant_store(settings).close()  # the server stores the token: fail here, early, if no key is configured
    oauth = settings.backend(tenant.backend).all_connections()[tenant.name].oauth
    assert oauth is not None
    server = settings.server
    base = (server.public_url or f"http://{server.host}:{server.port}").rstrip("/")
    redirect_uri = oauth.redirect_uri or base + callback_path(tenant.backend)
    request = begin(tenant, redirect_uri)
    pending = open_state_or_exit(settings).pending_authorizations()
    try:
        pending.add(request.state, tenant.backend, tenant.name, redirect_uri, timeout)
        _show(request, f"the ops-mcp server ({redirect_uri})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = pending.get(request.state)
            if record is not None and record.outcome in ("connected", "failed"):
                company = tenant.connection.company_id if record.outcome == "connected" else None
                error = record.message if record.outcome == "failed" else None
                return _report(tenant, True, company, error, settings)
            time.sleep(POLL_S)
    finally:
        pending.close()
    return _report(tenant, False, None, None, settings)


def _grant_store(settings: Settings) -> Any:
    from ..secretbox import SecretKeyError

    try:
        return open_state_or_exit(settings).grants()
    except SecretKeyError as exc:
        raise fail(f"refusing to obtain a refresh token that could not be stored encrypted: {exc}") from None


def _report(tenant: Tenant, answered: bool, company: str | None, error: str | None, settings: Settings) -> int:
    where = f"{tenant.backend} connection {tenant.name}"
    if not answered:
        print(f"ops-mcp: no answer for {where} in time; nothing was stored. Run the command again.", file=sys.stderr)
        return 1
    if error:
        print(f"ops-mcp: {where} was not connected: {error}", file=sys.stderr)
        return 1
    print(f"Connected: {where} now acts for company {company}; its refresh token is stored encrypted in "
          f"{settings.state_dir()} (the key is not).")
    return 0
