"""``OPS_MCP_<SECTION>__<KEY>`` over the file: what operators of containers rely on (config_env.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ops_mcp.config import ConfigError, Settings, load_settings
from ops_mcp.config_env import environment_overrides


def _write(tmp_path, text: str):
    path = tmp_path / "ops-mcp.toml"
    path.write_text(text)
    return path


def test_nested_variables_refine_the_file_key_by_key(tmp_path, monkeypatch):
    path = _write(tmp_path, '[server]\nport = 9000\nhost = "0.0.0.0"\n'
                            '[backends.remote]\nbase_url = "https://gateway.remote.com"\ntoken = "ra_live_file"\n')
    monkeypatch.setenv("OPS_MCP_SERVER__PORT", "9100")
    monkeypatch.setenv("ops_mcp_backends__remote__token", "ra_live_env")  # names are case-insensitive
    settings = load_settings(path)
    assert settings.server.port == 9100 and settings.server.host == "0.0.0.0"  # the file's other keys stay
    remote = settings.backends["remote"]
    assert remote.token is not None and remote.token.get_secret_value() == "ra_live_env"
    assert remote.base_url == "https://gateway.remote.com"


def test_a_whole_table_is_json_and_deeper_variables_refine_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OPS_MCP_AGENTS", '{"bot": {"areas": {"remote.timeoff": "read"}}}')
    monkeypatch.setenv("OPS_MCP_AGENTS__BOT__TOOL_MODE", "discovery")
    monkeypatch.setenv("OPS_MCP_CATALOGUE__MANIFESTS", '["extra.json"]')
    settings = load_settings(_write(tmp_path, ""))
    assert settings.agents["bot"].areas == {"remote.timeoff": "read"}
    assert settings.agents["bot"].tool_mode == "discovery"
    assert [p.name for p in settings.extra_manifests()] == ["extra.json"]


def test_variables_for_other_readers_are_left_alone():
    environ = {"OPS_MCP_CONFIG": "x.toml", "OPS_MCP_SECRET_KEY": "k", "OPS_MCP_STORAGE_URL": "postgresql://h/db",
               "OPS_MCP_EVENT_LOOP": "asyncio", "OPS_MCP_TOKEN": "omcp_x", "OPS_MCP_STORAGE__DIR": "/var/ops",
               "PATH": "/usr/bin", "OPS_MCP_SERVER__": "empty level", "OPS_MCP_": "nothing"}
    assert environment_overrides(Settings, environ) == {"storage": {"dir": "/var/ops"}}


def test_bad_json_and_unknown_keys_are_named(tmp_path, monkeypatch):
    path = _write(tmp_path, "")
    monkeypatch.setenv("OPS_MCP_AGENTS", "bot=read")
    with pytest.raises(ConfigError, match=r"OPS_MCP_AGENTS: expected JSON \(a table or a list\)"):
        load_settings(path)
    monkeypatch.delenv("OPS_MCP_AGENTS")
    monkeypatch.setenv("OPS_MCP_SERVER__PROT", "9100")
    with pytest.raises(ConfigError, match=r"server.prot: unknown key"):
        load_settings(path)
    monkeypatch.delenv("OPS_MCP_SERVER__PROT")
    monkeypatch.setenv("OPS_MCP_SERVER__PORT", "ninety")
    with pytest.raises(ConfigError, match=r"server.port: Input should be a valid integer"):
        load_settings(path)


def test_configuration_loads_without_pydantic_settings():
    """Start-up reads its configuration without importing pydantic-settings or python-dotenv (~12 ms)."""
    code = ("import sys, ops_mcp.config as c; c.load_settings(None); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic_settings', 'dotenv')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
