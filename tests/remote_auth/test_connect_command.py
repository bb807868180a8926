"""``ops-mcp connect remote --connection NAME`` as an operator runs it: a subprocess against a real loopback
sandbox, the consent form POSTed as the company admin would, the answer received on the command's own
loopback listener (or on the running HTTP server), the refresh token stored encrypted — then used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from ops_mcp.config import load_settings
from ops_mcp.runtime import build_runtime
from ops_mcp.secretbox import KEY_ENV
from ops_mcp.transports.http import create_app
from ops_mcp.transports.stdio import build_stdio_server
from tests.support.loopback import serving
from tests.support.partner import consent, partner_connection, query_of, toml_config, write_key_file

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]


def company(remote_state, slug: str) -> str:
    return remote_state.company_by_slug(slug)["id"]


def config(tmp_path: Path, base: str, remote_state, *, key: bool = True, server_port: int | None = None) -> Path:
    connections = {"acme": partner_connection(company(remote_state, "acme"), label="Acme GmbH", per_minute=100_000)}
    path = toml_config(tmp_path / "ops-mcp.toml", state_dir=tmp_path / "state",
                       key_file=write_key_file(tmp_path / "keys") if key else None, remote_base=f"{base}/remote",
                       connections=connections, server_port=server_port)
    with path.open("a") as handle:
        handle.write('\n[agents.people-ops]\nareas = { "remote.employments" = "read" }\n'
                     'connections = { remote = "acme" }\n')
    return path


def start_connect(path: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, "OPS_MCP_CONFIG")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.Popen(
        [sys.executable, "-m", "ops_mcp.cli", "connect", "remote", "--connection", "acme", "--config", str(path),
         "--timeout", "120", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=path.parent)


def authorize_url(proc: subprocess.Popen) -> str:
    """The URL the command prints for the company admin (read line by line until it appears)."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("http"):
            return line.strip()
    raise AssertionError(f"no authorize URL printed: {''.join(seen)} {proc.stderr.read()}")


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def state_bytes(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state_dir.rglob("*") if p.is_file())


async def test_connect_completes_the_authorization_code_flow_and_the_token_serves_the_agent(tmp_path, sandbox):
    base, remote = sandbox
    path = config(tmp_path, base, remote)
    proc = start_connect(path)
    try:
        url = authorize_url(proc)
        assert url.startswith(f"{base}/remote/auth/oauth2/authorize?")
        query = query_of(url)
        assert query["response_type"] == "code" and len(query["state"]) >= 40
        assert query["redirect_uri"].startswith("http://127.0.0.1:") and query["redirect_uri"].endswith(
            "/oauth/callback/remote")
        async with httpx.AsyncClient() as browser:
            location = await consent(browser, url, company(remote, "acme"))
            assert location.startswith(query["redirect_uri"]) and query_of(location)["state"] == query["state"]
            landing = await browser.get(location)
        assert landing.status_code == 200 and "now acts for company" in landing.text
        code, out, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert f"Connected: remote connection acme now acts for company {company(remote, 'acme')}" in out
    secrets = [t for t, issued in remote.refresh_tokens.items() if issued.company_id == company(remote, "acme")]
    stored = state_bytes(tmp_path / "state")
    assert secrets and stored and not any(t.encode() in stored for t in secrets)  # encrypted at rest

    runtime = build_runtime(load_settings(path))
    try:
        async with Client(build_stdio_server(runtime, "people-ops")) as agent:
            listed = await agent.call_tool("remote_list_employments", {"page_size": 100})
    finally:
        await runtime.aclose()
    assert not listed.is_error, listed.content
    acme = company(remote, "acme")
    mine = {e["id"] for e in remote.data["employments"].values() if e["_company_id"] == acme}
    assert {e["id"] for e in listed.structured_content["employments"]} <= mine


async def test_a_consent_for_another_company_is_refused_and_nothing_is_stored(tmp_path, sandbox):
    base, remote = sandbox
    path = config(tmp_path, base, remote)
    proc = start_connect(path)
    try:
        url = authorize_url(proc)
        async with httpx.AsyncClient() as browser:
            landing = await browser.get(await consent(browser, url, company(remote, "globex")))
        assert landing.status_code == 400 and "Not connected" in landing.text
        code, _out, err = finish(proc)
    finally:
        proc.kill()
    assert code == 1
    assert f"the consent was given for company {company(remote, 'globex')}" in err and "nothing was stored" in err
    from ops_mcp.authorization.stores import open_grant_store

    store = open_grant_store(load_settings(path))
    assert store.get("remote", "acme") is None
    store.close()


async def test_a_denied_consent_and_a_forged_state_store_nothing(tmp_path, sandbox):
    base, remote = sandbox
    path = config(tmp_path, base, remote)
    proc = start_connect(path)
    try:
        url = authorize_url(proc)
        async with httpx.AsyncClient() as browser:
            location = await consent(browser, url, company(remote, "acme"), decision="deny")
            forged = location.replace(query_of(location)["state"], "forged-state")
            assert (await browser.get(forged)).status_code == 400  # ignored: the listener keeps waiting
            landing = await browser.get(location)
        assert landing.status_code == 400
        code, _out, err = finish(proc)
    finally:
        proc.kill()
    assert code == 1 and "did not approve (access_denied)" in err


def test_without_a_key_the_command_refuses_before_showing_any_url(tmp_path, sandbox):
    base, remote = sandbox
    proc = start_connect(config(tmp_path, base, remote, key=False))
    code, out, err = finish(proc)
    assert code == 2 and "http" not in out
    assert KEY_ENV in err and "ops-mcp connect --new-key" in err


def test_new_key_prints_a_usable_key(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-m", "ops_mcp.cli", "connect", "--new-key"], capture_output=True,
                          text=True, env=env, timeout=60)
    from ops_mcp.secretbox import load_secret_key

    assert done.returncode == 0 and len(load_secret_key(None, tmp_path, {KEY_ENV: done.stdout.strip()}).key) == 32


async def test_connect_via_the_running_server(tmp_path, sandbox):
    base, remote = sandbox
    made: dict[str, Any] = {}

    def app_for(port: int) -> Any:  # the config names the server's own port, known once it is bound
        made["path"] = config(tmp_path, base, remote, server_port=port)
        return create_app(build_runtime(load_settings(made["path"])), host="127.0.0.1", port=port)

    with serving(make_app=app_for) as served:
        server, path = served.url, made["path"]
        proc = start_connect(path, "--via", "server")
        try:
            url = authorize_url(proc)
            assert query_of(url)["redirect_uri"] == f"{server}/oauth/callback/remote"
            async with httpx.AsyncClient() as browser:
                location = await consent(browser, url, company(remote, "acme"))
                landing = await browser.get(location)
                replay = await browser.get(location)  # the same answer twice: claimed once only
            assert landing.status_code == 200 and "now acts for company" in landing.text
            assert replay.status_code == 400 and "No authorization is waiting" in replay.text
            code, out, err = finish(proc)
        finally:
            proc.kill()
    assert code == 0, err
    assert "Connected: remote connection acme" in out
    from ops_mcp.authorization.stores import open_grant_store

    store = open_grant_store(load_settings(path))
    assert store.get("remote", "acme").company_id == company(remote, "acme")
    store.close()


def test_check_probes_what_each_connection_may_read(tmp_path, sandbox, capsys):
    from ops_mcp.cli import main
    from tests.support.partner import PARTNER_ID, PARTNER_SECRET

    base, remote = sandbox
    path = config(tmp_path, base, remote)
    with path.open("a") as handle:
        handle.write(f'\n[backends.remote.connections.partner]\nbase_url = "{base}/remote"\n'
                     f'oauth = {{ client_id = "{PARTNER_ID}", client_secret = "{PARTNER_SECRET}" }}\n')
    code = main(["check", "--config", str(path)])
    out = capsys.readouterr().out
    assert code == 1  # acme has no stored consent yet
    assert f"Remote (partner) via {base}/remote: reachable" in out
    assert "Remote (acme)" in out and "`ops-mcp connect remote --connection acme`" in out
