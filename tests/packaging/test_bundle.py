"""The Claude Desktop bundle: ``bundle/manifest.json`` passes the official MCPB CLI (``mcpb validate``),
``make bundle`` packs exactly the bundle's files, the manifest keeps tokens out of the command line, and the
packed bundle, started the way its manifest says (``uv run`` on its own ``pyproject.toml``), serves tools."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from tests.node_tools import MCPB_CLI, node, require
from tests.packaging.support import REPO, UV, outside_env, project_version, run

from ops_mcp.starter import write_starter

BUNDLE = REPO / "bundle"
USER_CONFIG = re.compile(r"\$\{user_config\.([a-z_]+)\}")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((BUNDLE / "manifest.json").read_text())


def test_the_official_mcpb_cli_validates_the_manifest():
    require(MCPB_CLI)
    done = node(MCPB_CLI, "validate", str(BUNDLE / "manifest.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Manifest schema validation passes!" in done.stdout


def test_mcpb_validate_rejects_a_broken_manifest(manifest, tmp_path):
    require(MCPB_CLI)
    broken = dict(manifest, server=dict(manifest["server"], type="docker"))
    (tmp_path / "manifest.json").write_text(json.dumps(broken))
    done = node(MCPB_CLI, "validate", str(tmp_path / "manifest.json"))
    assert done.returncode == 1
    assert "server.type" in done.stdout


def test_versions_match_the_package(manifest):
    version = project_version()
    bundle_project = tomllib.loads((BUNDLE / "pyproject.toml").read_text())["project"]
    assert manifest["version"] == bundle_project["version"] == version
    assert bundle_project["dependencies"] == [f"ops-mcp=={version}"]


def test_user_config_asks_for_agent_config_and_sensitive_tokens(manifest):
    options = manifest["user_config"]
    assert options["agent"]["type"] == "string" and options["agent"]["required"] is True
    assert options["config"]["type"] == "file" and options["config"]["required"] is True
    tokens = {key for key, option in options.items() if option.get("sensitive")}
    assert tokens == {"remote_api_token", "remoteops_api_key"}
    assert all(options[key]["required"] is False for key in tokens)  # the sandbox needs none


def test_tokens_travel_in_the_environment_never_on_the_command_line(manifest):
    config = manifest["server"]["mcp_config"]
    in_args = {m for arg in config["args"] for m in USER_CONFIG.findall(arg)}
    in_env = {name: USER_CONFIG.fullmatch(value).group(1) for name, value in config["env"].items()}
    sensitive = {key for key, option in manifest["user_config"].items() if option.get("sensitive")}
    assert not in_args & sensitive  # a process's arguments are visible to every user of the machine
    assert set(in_env.values()) == sensitive
    assert in_args | set(in_env.values()) == set(manifest["user_config"])  # every option is used
    server_json = json.loads((REPO / "server.json").read_text())
    assert set(in_env) == {v["name"] for v in server_json["packages"][0]["environmentVariables"]}


def test_the_entry_point_is_in_the_bundle_and_is_what_runs(manifest):
    server = manifest["server"]
    assert server["type"] == "uv"
    assert (BUNDLE / server["entry_point"]).is_file()
    assert f"${{__dirname}}/{server['entry_point']}" in server["mcp_config"]["args"]
    args = server["mcp_config"]["args"]
    assert args[args.index("--agent") + 1] == "${user_config.agent}"
    assert args[args.index("--config") + 1] == "${user_config.config}"


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Path:
    """``make bundle`` into a temporary folder: the .mcpb exactly as a user builds it."""
    require(MCPB_CLI)
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path_factory.mktemp("bundle-out")
    done = run(["make", "--no-print-directory", "-C", REPO, "bundle", f"BUNDLE_OUT={out}"], timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (mcpb,) = out.glob("*.mcpb")
    assert mcpb.name == f"ops-mcp-{project_version()}.mcpb"
    return mcpb


def test_make_bundle_packs_only_the_bundle_files(packed):
    with zipfile.ZipFile(packed) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "pyproject.toml", "server/main.py"]
        assert json.loads(archive.read("manifest.json")) == json.loads((BUNDLE / "manifest.json").read_text())


@pytest.mark.anyio
async def test_the_packed_bundle_serves_tools_as_its_manifest_starts_it(packed, manifest, wheel, tmp_path):
    root = tmp_path / "installed bundle"
    with zipfile.ZipFile(packed) as archive:
        archive.extractall(root)
    home = tmp_path / "home"
    home.mkdir()
    config = write_starter(tmp_path / "ops")
    chosen = {"agent": "dispatch", "config": str(config), "remote_api_token": "", "remoteops_api_key": ""}

    def substitute(text: str) -> str:
        # What the host does: ${__dirname} is where it unpacked the bundle, ${user_config.x} what the user chose.
        return USER_CONFIG.sub(lambda m: chosen[m.group(1)], text.replace("${__dirname}", str(root)))

    mcp_config = manifest["server"]["mcp_config"]
    assert mcp_config["command"] == "uv"
    env = outside_env(home, **{k: substitute(v) for k, v in mcp_config["env"].items()})
    # ops-mcp==<version> resolves from this session's wheel (it is not on the package index yet).
    env["UV_FIND_LINKS"] = str(wheel.parent)
    params = StdioServerParameters(command=str(UV), args=[substitute(a) for a in mcp_config["args"]], env=env,
                                   cwd=str(home))
    async with Client(params, read_timeout_seconds=120) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "remoteops_list_work_orders" in names and not any(n.startswith("remote_") for n in names)
        listed = await client.call_tool("remoteops_list_work_orders", {})
        assert not listed.is_error, listed.content
    assert not (BUNDLE / ".venv").exists()  # the run happened in the unpacked copy, not the source folder
