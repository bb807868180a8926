"""The console without a browser: accounts and their CLI, cookies and headers, access as code (export,
which wins after a restart), and an edit on one replica reaching an agent served by another."""

from __future__ import annotations

import argparse
import json
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from ops_mcp.cli import admins as admins_cli
from ops_mcp.cli import policy as policy_cli
from ops_mcp.config import AgentConfig
from ops_mcp.console.people import CONSOLE_FILE, SqliteConsoleStore, create_account, password_matches
from ops_mcp.console.web import Web
from ops_mcp.policy import build_policy
from ops_mcp.policy_store import JsonPolicyOverrides, agent_table
from ops_mcp.runtime import build_runtime
from ops_mcp.transports.http import create_app
from tests.support.loopback import serving
from tests.support.runtime import TWO_TENANTS, close, settings_for

from .conftest import AGENTS
from .support import HttpSession, ListChangedWatch, csrf_of, in_thread, mcp_client, tool_names

CODE_AGENTS: dict[str, dict[str, Any]] = {
    "people-ops": {
        "areas": {"remote.*": "read", "remote.timeoff": "full"},
        "confirm": ["remote.timeoff"],
        "deny_tools": ["remote_list_payslips"],
        "connections": {"remote": "globex"},
    },
    "dispatch": {
        "areas": {"remoteops.work_orders": "full"},
        "tool_mode": "discovery",
        "confirm_via": "client",
        "connections": {"remoteops": "contoso"},
    },
}


def test_an_account_keeps_only_a_salted_scrypt_hash_in_a_private_file(tmp_path):
    store = SqliteConsoleStore(tmp_path)
    password = create_account(store, "dana", "admin")
    again = create_account(store, "erin", "admin")
    stored = store.account("dana").password_hash
    assert stored.startswith("scrypt$16384$8$1$") and password not in stored
    assert password_matches(password, stored) and not password_matches(again, stored)
    assert store.account("erin").password_hash.split("$")[4] != stored.split("$")[4]  # a salt each
    assert stat.S_IMODE((tmp_path / CONSOLE_FILE).stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="already has an account"):
        create_account(store, "dana", "auditor")
    with pytest.raises(ValueError, match="role: one of admin, approver, auditor"):
        create_account(store, "fay", "root")
    with pytest.raises(ValueError, match="name: "):
        create_account(store, "<b>", "admin")
    store.close()


def test_admins_add_prints_the_password_once_on_stdout(tmp_path, capsys):
    config = tmp_path / "ops-mcp.toml"
    config.write_text('[storage]\ndir = "state"\n')
    args = argparse.Namespace(
        config=str(config), admins_command="add", name="dana", role="approver", reset=False
    )
    assert admins_cli.cmd_admins(args) == 0
    out, err = capsys.readouterr()
    password = out.strip()
    assert len(password) >= 20 and "/admin/signin" in err and password not in err
    store = SqliteConsoleStore(tmp_path / "state")
    assert store.account("dana").role == "approver"
    assert password_matches(password, store.account("dana").password_hash)
    assert admins_cli.cmd_admins(args) == 1  # a second add does not silently replace the password
    assert "--reset" in capsys.readouterr().err


def test_policy_export_is_toml_that_builds_the_same_policy(tmp_path, capsys, monkeypatch):
    runtime = build_runtime(settings_for(tmp_path / "state", CODE_AGENTS, backends=TWO_TENANTS))
    monkeypatch.setattr(policy_cli, "load_runtime", lambda config: runtime)
    assert policy_cli.cmd_policy(argparse.Namespace(config=None, policy_command="export", agent=None)) == 0
    exported = tomllib.loads(capsys.readouterr().out)["agents"]
    assert sorted(exported) == ["dispatch", "people-ops"]
    for name, table in exported.items():
        rebuilt = build_policy(name, AgentConfig.model_validate(table), runtime.catalogue)
        rebuilt.bindings = table["connections"]
        assert agent_table(rebuilt) == agent_table(runtime.policies[name])
    assert exported["people-ops"]["areas"]["remote.timeoff"] == "full"
    assert exported["people-ops"]["deny_tools"] == ["remote_list_payslips"]
    assert exported["dispatch"]["connections"] == {"remoteops": "contoso"}
    close(runtime)


def test_access_saved_in_the_console_wins_over_the_toml_after_a_restart_until_reset(
    tmp_path, monkeypatch, capsys
):
    settings = settings_for(tmp_path / "state", AGENTS)
    first = build_runtime(settings)
    table = agent_table(first.policies["people-ops"])
    table["areas"] = {**table["areas"], "remote.timeoff": "full"}
    JsonPolicyOverrides(first.state_dir).save("people-ops", table, by="dana")
    close(first)
    restarted = build_runtime(settings)
    assert restarted.policies["people-ops"].level("remote.timeoff") == "full"  # the saved edit wins
    assert restarted.policies["hr-desk"].level("remote.timeoff") == "full"  # untouched agents: the TOML
    monkeypatch.setattr(policy_cli, "load_runtime", lambda config: restarted)
    assert (
        policy_cli.cmd_policy(argparse.Namespace(config=None, policy_command="reset", agent="people-ops"))
        == 0
    )
    close(restarted)
    assert build_runtime(settings).policies["people-ops"].level("remote.timeoff") == "off"  # the TOML again


def test_cookies_are_httponly_strict_and_secure_behind_https_and_every_page_has_the_headers(tmp_path):
    runtime = build_runtime(
        settings_for(tmp_path / "state", AGENTS, server={"public_url": "https://ops.example"})
    )
    password = create_account(SqliteConsoleStore(runtime.state_dir), "dana", "admin")

    def app_for(port: int) -> Any:
        return create_app(runtime, transports=("http",), host="127.0.0.1", port=port)

    with serving(make_app=app_for) as server, httpx.Client(base_url=server.url) as http:
        form = http.get("/admin/signin")
        # Behind https every console cookie is Secure, so this plain-http client would never send it back.
        cookie = form.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/admin"):
            assert flag.lower() in cookie.lower()
        session = Web(store=SqliteConsoleStore(runtime.state_dir), secure=True)
        response = Response()
        session.start_session(response, SqliteConsoleStore(runtime.state_dir).account("dana"))
        assert all(
            f.lower() in response.headers["set-cookie"].lower() for f in ("HttpOnly", "strict", "Secure")
        )
        for path in ("/admin/signin", "/admin/nowhere", "/admin/static/console.css"):
            response = http.get(path)
            assert response.headers["content-security-policy"].startswith("default-src 'none'")
            assert "script-src" not in response.headers["content-security-policy"]
            assert response.headers["x-frame-options"] == "DENY"
        no_token = http.post("/admin/signin", data={"name": "dana", "password": password})
        assert no_token.status_code == 403  # the sign-in form needs its CSRF token too
    close(runtime)


def test_sign_in_never_redirects_off_the_console(served):
    with httpx.Client(base_url=served.url) as http:
        for target in ("//evil.example/x", "https://evil.example/", "/admin/..//evil"):
            form = http.get("/admin/signin")
            done = http.post(
                "/admin/signin",
                data={
                    "csrf": csrf_of(form.text),
                    "name": "dana",
                    "password": served.passwords["dana"],
                    "next": target,
                },
            )
            assert done.status_code == 303 and done.headers["location"] == "/admin/"


def test_an_edit_on_one_replica_reaches_the_agent_on_another_and_a_revoked_token_is_refused(tmp_path):
    settings = settings_for(tmp_path / "state", AGENTS)
    one, two = build_runtime(settings), build_runtime(settings)
    password = create_account(SqliteConsoleStore(one.state_dir), "dana", "admin")
    from ops_mcp.transports.agent_auth import AgentTokenStore

    token = AgentTokenStore(one.state_dir).issue("people-ops")
    timeoff = {e.tool for m in one.catalogue.values() for e in m.endpoints if e.area == "remote.timeoff"}

    def app(runtime: Any) -> Any:
        return lambda port: create_app(runtime, transports=("http",), host="127.0.0.1", port=port)

    with serving(make_app=app(one)) as first, serving(make_app=app(two)) as second:
        admin = HttpSession(first.url, "dana", password)
        # A session open on the other replica hears of the edit without sending anything (its poller).
        with ListChangedWatch(second.url, token) as watch:
            assert not watch.before & timeoff
            assert admin.post("/admin/agents/people-ops", {"level:remote.timeoff": "full"}).status_code == 303
            watch.go()
        assert watch.after is not None and timeoff <= watch.after, watch.error
        assert timeoff <= in_thread(lambda: tool_names(second.url, token))
        assert admin.post("/admin/agents/people-ops/revoke", {}).status_code == 303
        with pytest.raises(Exception):  # noqa: B017 - a 401 surfaces as the SDK's own error
            in_thread(lambda: tool_names(second.url, token))
    close(one)
    close(two)
    assert Path(one.state_dir / "policies.json").exists()


def test_a_2026_listen_stream_hears_that_the_tool_list_changed(served):
    import threading

    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.subscriptions import ToolsListChanged

    listening, saved = threading.Event(), threading.Event()

    async def listen() -> Any:
        http = httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {served.tokens['people-ops']}"}, timeout=30
        )
        async with Client(
            streamable_http_client(f"{served.url}/mcp", http_client=http), mode="2026-07-28"
        ) as c:
            async with c.listen(tools_list_changed=True) as sub:
                assert sub.honored.tools_list_changed
                listening.set()
                await anyio.to_thread.run_sync(saved.wait, 60)
                with anyio.fail_after(30):  # a bound on a hang, not a speed expectation
                    event = await sub.__anext__()
            names = {t.name for t in (await c.list_tools()).tools}
        return event, names

    found: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: found.update(result=in_thread(listen)))
    thread.start()
    assert listening.wait(60)
    admin = HttpSession(served.url, "dana", served.passwords["dana"])
    assert admin.post("/admin/agents/people-ops", {"level:remote.timeoff": "read"}).status_code == 303
    saved.set()
    thread.join(90)
    event, names = found["result"]
    assert event == ToolsListChanged()
    assert "remote_list_timeoffs" in names or any("timeoff" in n for n in names)


def test_an_agent_created_in_the_console_starts_with_nothing_and_gets_a_working_token(served, capsys):
    import re

    from ops_mcp.cli import agents as agents_cli

    admin = HttpSession(served.url, "dana", served.passwords["dana"])
    bad = admin.post("/admin/agents", {"name": "../x"})
    assert bad.status_code == 400 and "name:" in bad.text
    assert admin.post("/admin/agents", {"name": "night-bot", "description": "After hours"}).status_code == 303
    policy = served.runtime.policies["night-bot"]
    assert set(policy.levels.values()) == {"off"}
    issued = admin.post("/admin/agents/night-bot/token", {})
    token = re.search(r"(omcp_[A-Za-z0-9_-]+)", issued.text).group(1)
    assert not in_thread(lambda: tool_names(served.url, token)) & set(served.runtime.tools)  # deny by default
    assert "admin dana created the agent night-bot" in [
        e.record.sentence for e in served.runtime.audit.tail(50)
    ]
    # The CLI knows the agent too (it is saved in the state dir, not in the TOML).
    config = served.runtime.state_dir.parent / "ops-mcp.toml"
    config.write_text(f'[storage]\ndir = "{served.runtime.state_dir}"\n')
    assert (
        agents_cli.cmd_agents(argparse.Namespace(config=str(config), agents_command="list", json=True)) == 0
    )
    listed = {row["agent"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["night-bot"]["token"] and "note" not in listed["night-bot"]


def test_per_tool_exceptions_connections_and_modes_are_saved_from_the_agent_page(served):
    admin = HttpSession(served.url, "dana", served.passwords["dana"])
    page = admin.http.get("/admin/agents/hr-desk").text
    assert 'name="deny:remote_list_employments"' in page and 'name="confirm:remote_approve_timeoff"' in page
    form = {
        "deny:remote_list_employments": "on",
        "confirm-area:remote.timeoff": "on",
        "tool_mode": "static",
        "confirm_via": "client",
    }
    assert admin.post("/admin/agents/hr-desk", form).status_code == 303
    policy = served.runtime.policies["hr-desk"]
    assert policy.denied_tools == {"remote_list_employments"} and policy.confirm_via == "client"
    assert "remote_list_employments" not in in_thread(
        lambda: tool_names(served.url, served.tokens["hr-desk"])
    )
    said = [e.record.sentence for e in served.runtime.audit.tail(50)]
    assert "admin dana denied hr-desk the tool remote_list_employments" in said
    assert "admin dana set hr-desk's confirm_via to client" in said
    bad = admin.post("/admin/agents/hr-desk", {"tool_mode": "everything"})
    assert bad.status_code == 400 and "tool_mode: one of auto, static, discovery" in bad.text


def test_the_live_view_shows_budgets_health_and_denials_after_calls(served):
    async def calls() -> None:
        async with mcp_client(served.url, served.tokens["people-ops"]) as client:
            await client.call_tool("remote_list_employments", {})
            await client.call_tool("remote_list_payslips", {})  # off for people-ops: denied

    in_thread(calls)
    auditor = HttpSession(served.url, "ada", served.passwords["ada"])
    text = " ".join(re.sub(r"<[^>]+>", " ", auditor.http.get("/admin/live").text).split())
    assert re.search(r"remote:acme 300 \(fixed\) 1 299 no", text)  # Acme's budget: one request used
    assert "remote healthy 1 0 0 0 0" in text and "remoteops no calls yet" in text
    assert "people-ops tried to list payslips in Remote (Acme GmbH): denied by policy" in text


def test_rate_budgets_are_read_without_building_the_upstream_client(tmp_path):
    runtime = build_runtime(settings_for(tmp_path / "state", AGENTS))
    assert runtime.upstream.rate_budgets() == {} and not runtime.upstream.built  # read, never built
    budget = runtime.upstream.client._wiring.budgets.get("remote:acme", _profile(runtime), 300)
    assert runtime.upstream.rate_budgets() == {"remote:acme": budget}
    runtime.upstream.rate_budgets().clear()  # a copy: the live view cannot drop a budget
    assert runtime.upstream.rate_budgets() == {"remote:acme": budget}
    close(runtime)


def _profile(runtime: Any) -> Any:
    return runtime.catalogue["remote"].backend.rate_limit
