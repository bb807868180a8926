"""The README's getting-started commands, run exactly as written in a copy of a checkout."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from .demo_support import REPO, clean_env, run_shell

README = (REPO / "README.md").read_text()
ERAS = ["legacy", "2026-07-28"]


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start: end if end != -1 else None]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What a fresh clone has after `make run`: examples/ and the .venv that has the ops-mcp command."""
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "ops-mcp").exists():
        pytest.skip(f"the ops-mcp command is not installed beside {sys.executable}")
    root = tmp_path / "checkout"
    (root / "examples").mkdir(parents=True)
    (root / "examples" / "ops-mcp.toml").write_text((REPO / "examples" / "ops-mcp.toml").read_text())
    (root / ".venv").symlink_to(venv_bin.parent)
    return root


def test_getting_started_block_runs_as_written(checkout: Path) -> None:
    blocks = shell_blocks(section("Getting started from a checkout"))
    assert len(blocks) == 1 and "ops-mcp check" in blocks[0]
    out = run_shell(blocks[0], checkout, clean_env(XDG_DATA_HOME=str(checkout / "data-home")))
    assert "config: ok (" in out and out.count("reachable") == 4
    assert re.search(r"^\d+ tools, \d+ tokens", out, re.M)
    assert "prompts: review_pending_timeoff, onboarding_status" in out
    assert re.search(r"^people-ops\s+no token$", out, re.M)
    assert "the audit log is empty" in out
    assert (checkout / ".ops-mcp").is_dir()  # the state dir the README names, inside the checkout


def stdio_command() -> list[str]:
    commands = re.findall(r"`(\.venv/bin/ops-mcp serve --transport stdio[^`]*)`", README)
    assert commands, "the README shows no stdio command for a checkout"
    assert len(set(commands)) == 1, commands  # the getting-started and transports sections agree
    return shlex.split(commands[0])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_the_stdio_command_serves_people_ops(checkout: Path, mode: str) -> None:
    argv = stdio_command()
    params = StdioServerParameters(command=str(checkout / argv[0]), args=argv[1:], cwd=str(checkout),
                                   env=clean_env(XDG_DATA_HOME=str(checkout / "data-home")))
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        listed = await client.call_tool("remote_list_employments", {"page_size": 1})
    assert "remote_approve_timeoff" in names and not any(n.startswith("remoteops_") for n in names)
    assert not listed.is_error and len(listed.structured_content["employments"]) == 1


def test_readme_names_the_port_variable_that_make_run_reads() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "PORT=9000 make run" in section("Two commands")
    assert "$(if $(PORT), --port $(PORT))" in makefile
