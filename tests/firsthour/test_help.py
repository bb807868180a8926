"""`ops-mcp --help` and every command's --help speak to a user: what it does and how to start."""

from __future__ import annotations

import pytest

from ops_mcp.cli import GROUPS, build_parser, main


def help_text(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_says_what_it_is_and_how_to_start(capsys) -> None:
    text = help_text([], capsys)
    assert "governed MCP tool server" in text and "ops-mcp init DIR" in text and "--config" in text
    commands = build_parser()._subparsers._group_actions[0].choices  # every command is listed with a line
    assert len(commands) == len(GROUPS) >= 11
    for name in commands:
        assert name in text


@pytest.mark.parametrize("command", ["init", "serve", "run", "tools", "check", "agents", "approvals", "audit",
                                     "webhooks", "sandbox", "manifest"])
def test_each_command_has_help(command, capsys) -> None:
    text = help_text([command], capsys)
    assert text.startswith(f"usage: ops-mcp {command}")


def test_serve_and_run_explain_the_log_format_and_the_port(capsys) -> None:
    assert "one JSON object per line" in help_text(["serve"], capsys)
    assert "PORT=9000 make run" in help_text(["run"], capsys)
