"""The wheel on a machine that has never seen the repository: installed into a clean venv outside the
checkout and run from elsewhere, ``ops-mcp init`` writes a working starter config, its three printed
commands work as printed, tools list over stdio in both protocol eras, and the manifests and sandbox data
come from the installed package. ``uvx`` runs the exact command line ``server.json`` describes."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from tests.packaging.support import REPO, UV, run

pytestmark = pytest.mark.anyio

ERAS = ["legacy", "2026-07-28"]
PEOPLE_OPS_TOOLS = {"remote_list_employments", "remote_approve_timeoff", "remote_get_country_form"}

WHERE_FROM = """
import json, sys
from importlib import resources
import ops_mcp
from ops_mcp.catalogue.loader import load_catalogue, manifest_dir
forms = resources.files("ops_mcp").joinpath("sandbox", "remote", "forms", "data")
print(json.dumps({
    "package": ops_mcp.__file__,
    "manifests": str(manifest_dir()),
    "manifest_files": sorted(p.name for p in manifest_dir().glob("*.json")),
    "endpoints": {name: len(m.endpoints) for name, m in load_catalogue().items()},
    "form_files": sum(1 for p in forms.iterdir() if p.is_dir() for _ in p.iterdir()),
    "sys_path": sys.path,
}))
"""


def test_the_installed_package_carries_its_manifests_and_sandbox_data(clean_install):
    done = run([clean_install.python, "-c", WHERE_FROM], cwd=clean_install.work, env=clean_install.env())
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    site = clean_install.venv / "lib"
    assert Path(found["package"]).is_relative_to(site)
    assert Path(found["manifests"]) == Path(found["package"]).parent / "_manifests"
    assert {"remote.json", "remoteops.json", "manifest.schema.json"} <= set(found["manifest_files"])
    checkout = {"remote": len(json.loads((REPO / "tool_manifests/remote.json").read_text())["endpoints"]),
                "remoteops": len(json.loads((REPO / "tool_manifests/remoteops.json").read_text())["endpoints"])}
    assert found["endpoints"] == checkout
    assert found["form_files"] >= 40  # the sandbox's country forms (JSON files, not Python modules)
    assert not [p for p in found["sys_path"] if p and Path(p).resolve().is_relative_to(REPO)]


def _next_commands(stdout: str) -> list[str]:
    commands = [line.strip()[3:] for line in stdout.splitlines() if line.strip()[:3] in ("1. ", "2. ", "3. ")]
    assert len(commands) == 3, stdout
    return commands


async def test_init_then_the_three_printed_commands_work_as_printed(clean_install, tmp_path):
    target = tmp_path / "first hour"  # a space: the printed commands must quote it
    done = run([clean_install.ops_mcp, "init", target], cwd=clean_install.work, env=clean_install.env())
    assert done.returncode == 0, done.stderr
    config = target / "ops-mcp.toml"
    exe, quoted = str(clean_install.ops_mcp), shlex.quote(str(config))
    # The venv's bin is not on PATH, so the commands name the executable by its path.
    assert _next_commands(done.stdout) == [
        f"{exe} check --config {quoted}",
        f"{exe} serve --transport stdio --agent people-ops --config {quoted}",
        f"{exe} run --config {quoted}",
    ]
    text = config.read_text()
    assert text.startswith("#") and "REMOTE_API_TOKEN" in text
    settings = tomllib.loads(text)
    assert "base_url" not in settings["backends"]["remote"] and "base_url" not in settings["backends"]["remoteops"]
    assert list(settings["agents"]) == ["people-ops", "dispatch"]
    assert (target / ".ops-mcp").stat().st_mode & 0o777 == 0o700

    check, serve, demo = (shlex.split(c) for c in _next_commands(done.stdout))
    done = run(check, cwd=clean_install.home, env=clean_install.env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agents: dispatch, people-ops" in done.stdout
    assert done.stdout.count("via embedded sandbox: reachable") == 2

    for mode in ERAS:
        await _list_and_call_over_stdio(serve, clean_install, mode)
    _demo_server_gets_ready(demo, clean_install)


async def _list_and_call_over_stdio(command: list[str], clean_install, mode: str) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:], env=clean_install.env(),
                                   cwd=str(clean_install.home))
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names >= PEOPLE_OPS_TOOLS, names
        assert not any(name.startswith("remoteops_") for name in names)
        listed = await client.call_tool("remote_list_employments", {"page_size": 2})
        assert not listed.is_error, listed.content
        assert len(listed.structured_content["employments"]) == 2  # the sandbox's seed data
        form = await client.call_tool("remote_get_country_form",
                                      {"country_code": "DEU", "form": "employment_basic_information"})
        assert not form.is_error, form.content  # read from the JSON files shipped in the wheel
        assert "properties" in json.dumps(form.structured_content)


def _demo_server_gets_ready(command: list[str], clean_install) -> None:
    """``ops-mcp run`` prints where it listens; that server must answer /readyz before we stop it."""
    log = clean_install.home / "run.log"  # a file, not a pipe nobody drains: the server must never block on it
    with log.open("w") as stderr:
        proc = subprocess.Popen(command, cwd=clean_install.home, env=clean_install.env(), stdout=subprocess.PIPE,
                                stderr=stderr, text=True)
        try:
            base = _wait_for_banner(proc)
            ready = _poll(f"{base}/readyz")
            assert ready.status_code == 200, ready.text
        finally:
            proc.terminate()
            proc.communicate(timeout=30)


def _wait_for_banner(proc: subprocess.Popen, timeout: float = 60) -> str:
    found: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            if "MCP (streamable HTTP):" in line:
                found.append(line.split(":", 1)[1].strip().removesuffix("/mcp"))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert found, f"no banner from `ops-mcp run`; exit code {proc.poll()} (its stderr is in run.log)"
    return found[0]


def _poll(url: str, attempts: int = 100) -> httpx.Response:
    # The banner is printed just before the server binds; retry connection refusals briefly (bounded).
    for _ in range(attempts):
        try:
            return httpx.get(url, timeout=5)
        except httpx.ConnectError:
            threading.Event().wait(0.1)
    raise AssertionError(f"{url} never answered")


def test_init_refuses_to_overwrite_unless_forced(clean_install, tmp_path):
    target = tmp_path / "ops"
    assert run([clean_install.ops_mcp, "init", target], env=clean_install.env()).returncode == 0
    config = target / "ops-mcp.toml"
    starter = config.read_text()
    config.write_text("# my edited config\n")
    (target / ".ops-mcp" / "agent_tokens.json").write_text("{}")

    again = run([clean_install.ops_mcp, "init", target], env=clean_install.env())
    assert again.returncode == 1
    assert f"{config} already exists" in again.stderr and "--force" in again.stderr
    assert config.read_text() == "# my edited config\n"
    assert again.stdout == ""

    forced = run([clean_install.ops_mcp, "init", "--force", target], env=clean_install.env())
    assert forced.returncode == 0, forced.stderr
    assert config.read_text() == starter
    assert (target / ".ops-mcp" / "agent_tokens.json").read_text() == "{}"  # state is kept


def _server_json_argv(agent: str, config: Path) -> list[str]:
    """The command line an MCP Registry client builds from server.json's packageArguments."""
    package = json.loads((REPO / "server.json").read_text())["packages"][0]
    supplied = {"--agent": agent, "--config": str(config)}
    argv: list[str] = []
    for argument in package["packageArguments"]:
        if argument["type"] == "positional":
            argv.append(argument["value"])
        else:
            argv.append(f"{argument['name']}={argument.get('value') or supplied[argument['name']]}")
    return argv


async def test_uvx_runs_the_server_json_command_from_the_wheel(clean_install, wheel, tmp_path):
    assert run([clean_install.ops_mcp, "init", tmp_path], env=clean_install.env()).returncode == 0
    argv = _server_json_argv("dispatch", tmp_path / "ops-mcp.toml")
    assert argv[:2] == ["serve", "--transport=stdio"]
    params = StdioServerParameters(command=str(UV), args=["tool", "run", "--quiet", "--from", str(wheel), "ops-mcp",
                                                          *argv],
                                   env=clean_install.env(), cwd=str(clean_install.home))
    async with Client(params, read_timeout_seconds=120) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "remoteops_create_work_order" in names and not any(n.startswith("remote_") for n in names)
        listed = await client.call_tool("remoteops_list_work_orders", {})
        assert not listed.is_error, listed.content


def test_the_wheel_runs_on_this_python(clean_install):
    # Guard for the fixture itself: the clean venv really is a different environment from the test's.
    done = run([clean_install.python, "-c", "import sys; print(sys.prefix)"], env=clean_install.env())
    assert Path(done.stdout.strip()) == clean_install.venv
    assert Path(sys.prefix) != clean_install.venv
