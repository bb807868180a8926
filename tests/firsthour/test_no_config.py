"""Run where nothing configures ops-mcp: every command says so and points to `ops-mcp init`, nothing is
served with zero agents, and nothing is written to the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_mcp.cli import main

NEEDS_CONFIG = [
    ["agents", "add", "people-ops"],
    ["agents", "list"],
    ["audit", "tail"],
    ["approvals", "list"],
    ["tools", "--agent", "people-ops"],
    ["serve", "--transport", "stdio", "--agent", "people-ops"],
    ["serve", "--transport", "http"],
    ["serve", "--transport", "sse"],
    ["run"],
]


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no OPS_MCP_* variables, and a data home the test can inspect."""
    import os

    for name in [n for n in os.environ if n.startswith("OPS_MCP_")]:
        monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    return tmp_path


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code)


@pytest.mark.parametrize("argv", NEEDS_CONFIG, ids=" ".join)
def test_a_command_without_any_config_says_so_and_points_to_init(nowhere, capsys, argv) -> None:
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert "no configuration found" in err and "ops-mcp.toml" in err and "init`" in err
    assert "unknown agent" not in err
    assert not (nowhere / "data-home").exists()  # no state dir appeared in the user's home


def test_check_without_config_probes_the_sandbox_but_fails_and_leaves_nothing_behind(nowhere, capsys) -> None:
    assert exit_code(["check"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("config: none — no configuration found") and "init`" in out
    assert "reachable" in out  # the embedded sandbox still answered
    assert not (nowhere / "data-home").exists()
    assert list((nowhere / "work").iterdir()) == []


def test_a_config_with_no_agents_is_not_served_over_http(nowhere, capsys) -> None:
    config = nowhere / "work" / "ops-mcp.toml"
    config.write_text('[storage]\ndir = "state"\n')
    for transport in ("http", "sse"):
        assert exit_code(["serve", "--transport", transport, "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert "refusing to serve HTTP with no agents" in err and str(config) in err and "[agents.NAME]" in err
    assert not (nowhere / "work" / "state").exists()  # refused before anything was built


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_agent_is_refused_over_http_with_the_reason(nowhere, capsys, transport) -> None:
    config = nowhere / "work" / "ops-mcp.toml"
    config.write_text('[storage]\ndir = "state"\n[agents.hr]\nareas = { "remote.timeoff" = "read" }\n')
    assert exit_code(["serve", "--transport", transport, "--agent", "hr", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "--agent applies to stdio only" in err and "bearer token" in err


def test_the_environment_alone_may_configure_a_state_dir(nowhere, capsys, monkeypatch) -> None:
    """Containers configure by OPS_MCP_* variables only: that counts as a configuration."""
    monkeypatch.setenv("OPS_MCP_STORAGE__DIR", str(nowhere / "state"))
    assert exit_code(["audit", "tail"]) == 1
    err = capsys.readouterr().err
    assert "no audit log at" in err and "no configuration found" not in err


def test_an_unknown_agent_names_the_config_it_looked_in(nowhere, capsys) -> None:
    config = nowhere / "work" / "ops-mcp.toml"
    config.write_text('[storage]\ndir = "state"\n[agents.hr]\nareas = { "remote.timeoff" = "read" }\n')
    assert exit_code(["tools", "--agent", "people-ops", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown agent 'people-ops'" in err and str(config) in err and "configured agents: hr" in err


def test_http_warns_when_no_agent_can_authenticate_yet(nowhere, caplog) -> None:
    from ops_mcp.cli.serve import warn_without_tokens
    from ops_mcp.config import load_settings
    from ops_mcp.runtime import build_runtime
    from ops_mcp.transports.agent_auth import AgentTokenStore

    config = nowhere / "work" / "ops-mcp.toml"
    config.write_text('[storage]\ndir = "state"\n[agents.hr]\nareas = { "remote.timeoff" = "read" }\n')
    runtime = build_runtime(load_settings(config))
    try:
        warn_without_tokens(runtime)
        assert any("no agent has a token yet" in r.getMessage() and "agents add NAME" in r.getMessage()
                   for r in caplog.records)
        caplog.clear()
        AgentTokenStore(runtime.state_dir).issue("hr")
        warn_without_tokens(runtime)
        assert not caplog.records
    finally:
        runtime.audit.close()
        runtime.approvals.close()
        runtime.events.close()


def test_tools_says_when_an_agent_is_in_discovery_mode(nowhere, capsys) -> None:
    config = nowhere / "work" / "ops-mcp.toml"
    config.write_text('[storage]\ndir = "state"\n[agents.all]\nareas = { "remote.*" = "full", "remoteops.*" = "full" }\n')
    from ops_mcp.catalogue.loader import load_catalogue

    assert exit_code(["tools", "--agent", "all", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    everything = sum(len(m.endpoints) for m in load_catalogue().values())
    assert f"discovery mode (tool_mode = 'auto', token_budget = 6000): {everything} catalogue tools" in out
    assert "\n4 tools, " in out
    assert out.rstrip().endswith("prompts: review_pending_timeoff, triage_emergency_calls, invoice_completed_work, "
                                 "onboarding_status, overdue_invoices")
