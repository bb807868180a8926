"""Partner connections in tests: a secret key file, the consent step as a company admin does it (GET the
consent page, POST its form back), and a configuration with partner connections bound to companies."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS
from ops_mcp.secretbox import new_key

PARTNER_ID = SANDBOX_CREDENTIALS["partner_client_id"]
PARTNER_SECRET = SANDBOX_CREDENTIALS["partner_client_secret"]
_HIDDEN = re.compile(r"""<input type=["']hidden["'] name=["']([a-z_]+)["'] value=["']([^"']*)["']>""")


def write_key_file(directory: Path) -> Path:
    """A fresh secret key in ``directory`` (owner-only), which must not be the state dir."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "secret.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key() + "\n")
    return path


async def consent(http: httpx.AsyncClient, authorize_url: str, company_id: str, decision: str = "approve") -> str:
    """Open the consent page as the company admin, pick the company and submit; the redirect location."""
    page = await http.get(authorize_url)
    assert page.status_code == 200, page.text[:300]
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    assert {"client_id", "redirect_uri", "state", "response_type"} <= set(fields), page.text[:500]
    assert f'value="{company_id}"' in page.text, "the company is not offered on the consent page"
    answer = await http.post(authorize_url.split("?")[0], data={**fields, "company_id": company_id,
                                                                "decision": decision})
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["location"]


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def partner_connection(company_id: str, *, label: str, base_url: str | None = None, **extra: Any) -> dict[str, Any]:
    conn: dict[str, Any] = {"label": label, "company_id": company_id,
                            "oauth": {"client_id": PARTNER_ID, "client_secret": PARTNER_SECRET}, **extra}
    if base_url is not None:
        conn["base_url"] = base_url
    return conn


def toml_config(path: Path, *, state_dir: Path, key_file: Path | None, remote_base: str,
                connections: dict[str, dict[str, Any]], server_port: int | None = None) -> Path:
    """An ops-mcp.toml with Remote connections on ``remote_base`` and RemoteOps switched off."""
    lines = [f'[storage]\ndir = "{state_dir}"']
    if key_file is not None:
        lines.append(f'[secrets]\nkey_file = "{key_file}"')
    if server_port is not None:
        lines.append(f'[server]\nhost = "127.0.0.1"\nport = {server_port}')
    lines.append("[backends.remoteops]\nenabled = false")
    for name, conn in connections.items():
        table = [f"[backends.remote.connections.{name}]", f'base_url = "{remote_base}"']
        table += [f"{k} = {_toml(v)}" for k, v in conn.items() if k != "oauth"]
        if "oauth" in conn:
            inner = ", ".join(f"{k} = {_toml(v)}" for k, v in conn["oauth"].items())
            table.append(f"oauth = {{ {inner} }}")
        lines.append("\n".join(table))
    path.write_text("\n\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


async def connect_company(tenant: Any, grants: Any, http: httpx.AsyncClient,
                          redirect_uri: str = "http://127.0.0.1:8765/oauth/callback/remote",
                          approve_for: str | None = None) -> Any:
    """The whole flow in process: authorize URL → the admin approves ``approve_for`` (default: the
    connection's company) → the redirect's code is exchanged and the refresh token stored."""
    from ops_mcp.authorization.flow import begin, complete

    request = begin(tenant, redirect_uri)
    location = await consent(http, request.url, approve_for or tenant.connection.company_id)
    answer = query_of(location)
    assert answer["state"] == request.state and location.startswith(redirect_uri)
    return await complete(request, answer["code"], grants, http)
