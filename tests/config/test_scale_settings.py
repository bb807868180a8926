"""[storage] url and [coordination] redis_url: read from the file or the environment, checked, and the
drivers never imported unless used."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ops_mcp.config import ConfigError, load_settings


def test_the_two_urls_come_from_the_environment_too(tmp_path, monkeypatch):
    config = tmp_path / "ops-mcp.toml"
    config.write_text(
        '[storage]\nurl = "postgresql://file@db/ops"\n[coordination]\nredis_url = "redis://file:6379/0"\n'
    )
    settings = load_settings(config)
    assert settings.storage.url.get_secret_value() == "postgresql://file@db/ops"  # type: ignore[union-attr]
    monkeypatch.setenv("OPS_MCP_STORAGE_URL", "postgresql://env@db/ops")
    monkeypatch.setenv("OPS_MCP_REDIS_URL", "redis://env:6379/1")
    settings = load_settings(config)
    assert settings.storage.url.get_secret_value() == "postgresql://env@db/ops"  # type: ignore[union-attr]
    assert settings.coordination.redis_url.get_secret_value() == "redis://env:6379/1"  # type: ignore[union-attr]
    monkeypatch.setenv("OPS_MCP_STORAGE_URL", "")  # empty: back to the embedded store
    assert load_settings(config).storage.url is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[storage]\nurl = "mysql://db/ops"\n', "storage.url: Value error, must start with postgresql://"),
        (
            '[coordination]\nredis_url = "http://cache"\n',
            "coordination.redis_url: Value error, must start with redis://",
        ),
        (
            "[agents.a]\nbudget_weight = 0\n",
            "agents.a.budget_weight: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_bad_value_names_its_key_and_what_is_allowed(tmp_path, toml, message):
    config = tmp_path / "ops-mcp.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert message in str(info.value)


def test_the_embedded_store_and_local_coordination_import_no_driver(tmp_path):
    """Start-up without the two URLs (stdio, small installs) must not grow by psycopg or redis."""
    script = (
        "import sys\n"
        "from ops_mcp.config import Settings\n"
        "from ops_mcp.runtime import build_runtime\n"
        f"runtime = build_runtime(Settings(storage={{'dir': {str(tmp_path / 'state')!r}}}))\n"
        "print(runtime.store.engine, runtime.coordination.status().engine)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool', 'redis')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["embedded local", "[]"]
