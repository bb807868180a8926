"""Configuration is validated once at start, fails closed, and names the bad key."""

from __future__ import annotations

import pytest

from ops_mcp.config import ConfigError, Settings, load_settings
from ops_mcp.runtime import build_runtime


def _write(tmp_path, text: str):
    path = tmp_path / "ops-mcp.toml"
    path.write_text(text)
    return path


def test_env_references_are_expanded_and_missing_ones_named(tmp_path, monkeypatch):
    path = _write(tmp_path, '[backends.remote]\nbase_url = "https://gateway.remote.com"\ntoken = "${REMOTE_TOK}"\n')
    with pytest.raises(ConfigError, match=r"backends.remote.token: environment variable REMOTE_TOK is not set"):
        load_settings(path)
    monkeypatch.setenv("REMOTE_TOK", "ra_live_abc")
    settings = load_settings(path)
    assert settings.backends["remote"].token.get_secret_value() == "ra_live_abc"


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = _write(tmp_path, "[server]\nport = 9000\n")
    monkeypatch.setenv("OPS_MCP_SERVER__PORT", "9100")
    assert load_settings(path).server.port == 9100


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"agents.bot.aeras: unknown key"):
        load_settings(_write(tmp_path, '[agents.bot]\naeras = { "remote.timeoff" = "read" }\n'))
    with pytest.raises(ConfigError, match=r"agents.bot.areas.remote.timeoff"):
        load_settings(_write(tmp_path, '[agents.bot]\nareas = { "remote.timeoff" = "write" }\n'))


@pytest.mark.parametrize("agent,message", [
    ({"areas": {"remote.timeof": "read"}}, "unknown area 'remote.timeof'"),
    ({"areas": {"hr.*": "read"}}, "unknown back end 'hr'"),
    ({"confirm": ["remote_delete_everything"]}, "unknown area 'remote_delete_everything'"),
    ({"deny_tools": ["remote_nope"]}, "unknown tool 'remote_nope'"),
    ({"connections": {"remote": "initech"}}, "unknown connection 'initech'"),
])
def test_policy_fails_closed(tmp_path, agent, message):
    settings = Settings(storage={"dir": str(tmp_path)}, agents={"bot": agent})
    with pytest.raises(ConfigError, match=message):
        build_runtime(settings, sandbox_app=object())


def test_wildcards_then_specific_areas(tmp_path):
    settings = Settings(storage={"dir": str(tmp_path)}, agents={"bot": {
        "areas": {"remote.timeoff": "off", "remote.*": "read", "remoteops.invoices": "full"},
        "deny_tools": ["remote_list_employments"],
    }})
    policy = build_runtime(settings, sandbox_app=object()).policy("bot")
    visible = {e.tool for e in policy.visible()}
    assert "remote_get_employment" in visible
    assert "remote_list_employments" not in visible  # deny_tools wins
    assert not any(t.startswith("remote_") and "timeoff" in t for t in visible)  # named area beats wildcard
    assert "remoteops_void_invoice" in visible and "remoteops_list_work_orders" not in visible
    assert policy.decide("remote_create_employment").allowed is False
    assert policy.decide("REMOTE_GET_EMPLOYMENT").endpoint is None  # no case folding, no look-alikes


@pytest.mark.parametrize("backend,base_url,token,fragment", [
    ("remote", "https://gateway.remote-sandbox.com", "ra_live_x", "live token"),
    ("remote", "http://127.0.0.1:8900/remote", "ra_live_x", "live token"),
    ("remote", "https://gateway.remote.com", "ra_test_x", "test token"),
    ("remoteops", "https://api.remoteops.example/v1", "rops_test_x", "test token"),
])
def test_environments_never_cross(tmp_path, backend, base_url, token, fragment):
    settings = Settings(storage={"dir": str(tmp_path)},
                        backends={backend: {"base_url": base_url, "token": token}})
    with pytest.raises(ConfigError, match=fragment):
        build_runtime(settings, sandbox_app=object())


def test_state_dir_defaults_beside_the_config(tmp_path):
    path = _write(tmp_path, "")
    assert load_settings(path).state_dir() == tmp_path.resolve() / ".ops-mcp"
