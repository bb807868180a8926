"""``ops-mcp init`` in-process: the starter config is what it promises (sandbox back ends, the two example
agents with exactly the stated access), the hints are valid ``ops-mcp`` command lines, and it never
clobbers a config or writes half a file."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

from ops_mcp.cli import build_parser, main
from ops_mcp.config import load_settings
from ops_mcp.runtime import build_runtime
from ops_mcp.starter import program_name, starter_agents, starter_text


def _init(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["init", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_starter_config_is_the_sandbox_with_two_example_agents(tmp_path, capsys):
    code, out, err = _init(capsys, str(tmp_path))
    assert (code, err) == (0, "")
    settings = load_settings(tmp_path / "ops-mcp.toml")
    assert settings.state_dir() == tmp_path / ".ops-mcp"
    runtime = build_runtime(settings)
    assert runtime.tenants.all_embedded
    assert {tenant.backend for tenant in runtime.tenants.all()} == {"remote", "remoteops"}
    people, dispatch = settings.agents["people-ops"], settings.agents["dispatch"]
    assert people.areas == {"remote.employments": "read", "remote.timeoff": "full", "remote.countries": "read"}
    assert people.confirm == ["remote.timeoff"]
    assert dispatch.areas == {"remoteops.work_orders": "full", "remoteops.customers": "read"}
    assert starter_agents() == ["people-ops", "dispatch"]


def test_every_printed_command_is_a_valid_ops_mcp_command_line(tmp_path, capsys):
    code, out, _ = _init(capsys, str(tmp_path / "with space"))
    assert code == 0
    commands = [line.strip()[3:] for line in out.splitlines() if line.strip()[:3] in ("1. ", "2. ", "3. ")]
    assert [shlex.split(c)[1] for c in commands] == ["check", "serve", "run"]
    config = str(tmp_path / "with space" / "ops-mcp.toml")
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert args.config == config
    assert build_parser().parse_args(shlex.split(commands[1])[1:]).agent == "people-ops"


def test_init_creates_missing_directories_and_a_private_state_dir(tmp_path, capsys):
    target = tmp_path / "a" / "b"
    code, _, _ = _init(capsys, str(target))
    assert code == 0
    assert (target / "ops-mcp.toml").read_text() == starter_text()
    assert stat.S_IMODE((target / ".ops-mcp").stat().st_mode) == 0o700
    assert sorted(p.name for p in target.iterdir()) == [".ops-mcp", "ops-mcp.toml"]  # no temp files left


def test_init_defaults_to_the_current_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _init(capsys)
    assert code == 0 and (tmp_path / "ops-mcp.toml").is_file()
    assert f"Wrote {tmp_path / 'ops-mcp.toml'}" in out


def test_an_existing_config_is_never_overwritten_without_force(tmp_path, capsys):
    config = tmp_path / "ops-mcp.toml"
    config.write_text("[agents.mine]\n")
    code, out, err = _init(capsys, str(tmp_path))
    assert (code, out) == (1, "")
    assert f"{config} already exists; nothing was written. Pass --force" in err
    assert config.read_text() == "[agents.mine]\n"
    code, _, _ = _init(capsys, "--force", str(tmp_path))
    assert code == 0 and config.read_text() == starter_text()


def test_a_file_in_the_way_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    code, out, err = _init(capsys, str(blocker))
    assert (code, out) == (2, "")
    assert f"{blocker} exists and is not a directory" in err
    assert blocker.read_text() == "x"


def test_a_directory_that_cannot_be_made_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, out, err = _init(capsys, str(tmp_path / "file" / "sub"))
    assert (code, out) == (2, "")
    assert f"cannot write {tmp_path / 'file' / 'sub' / 'ops-mcp.toml'}: Not a directory" in err


def test_program_name_is_bare_only_when_path_finds_this_executable(tmp_path, monkeypatch):
    exe = tmp_path / "bin" / "ops-mcp"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert program_name(str(exe)) == str(exe)
    monkeypatch.setenv("PATH", f"{exe.parent}:/usr/bin:/bin")
    assert program_name(str(exe)) == "ops-mcp"
    assert program_name("/usr/lib/python3/dist-packages/pytest") == "ops-mcp"
    assert Path(program_name(str(exe))).name == "ops-mcp"
