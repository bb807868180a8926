"""``server.json`` for the MCP Registry: valid against the registry's published schema (kept as a fixture, see
``tests/fixtures/mcp_registry/SOURCE.md``), in step with the package version, its command line accepted by
``ops-mcp``, its secrets marked secret, and its ``mcp-name:`` ownership line in the README the wheel carries."""

from __future__ import annotations

import copy
import json
import re
import zipfile

import jsonschema
import pytest
from tests.packaging.support import REPO, project_version

from ops_mcp.cli import build_parser
from ops_mcp.starter import starter_text

SCHEMA = REPO / "tests" / "fixtures" / "mcp_registry" / "server.schema.2025-12-11.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@pytest.fixture
def server() -> dict:
    return json.loads((REPO / "server.json").read_text())


def _errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_server_json_is_valid_against_the_registry_schema(validator, server):
    assert _errors(validator, server) == []
    assert server["$schema"] == json.loads(SCHEMA.read_text())["$id"]


@pytest.mark.parametrize(("path", "value"), [
    (("description",), "x" * 101),                               # over the registry's 100 characters
    (("name",), "ops-mcp"),                                       # not reverse-DNS with one slash
    (("packages", 0, "version"), "latest"),                       # versions must be exact
    (("packages", 0, "transport"), {"type": "carrier-pigeon"}),
    (("packages", 0, "packageArguments", 0), {"type": "positional"}),  # neither value nor valueHint
])
def test_the_schema_check_rejects_what_the_registry_would(validator, server, path, value):
    broken = copy.deepcopy(server)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _errors(validator, broken)


def test_versions_match_the_package(server):
    version = project_version()
    assert server["version"] == version
    assert [p["version"] for p in server["packages"]] == [version]


def test_the_package_is_the_pypi_project_run_with_uvx_over_stdio(server):
    (package,) = server["packages"]
    assert (package["registryType"], package["identifier"], package["runtimeHint"]) == ("pypi", "ops-mcp", "uvx")
    assert package["transport"] == {"type": "stdio"}


def test_the_command_line_is_one_ops_mcp_accepts(server):
    argv = []
    for argument in server["packages"][0]["packageArguments"]:
        value = argument.get("value") or argument.get("default") or "/path/to/ops-mcp.toml"
        argv += [value] if argument["type"] == "positional" else [f"{argument['name']}={value}"]
    args = build_parser().parse_args(argv)
    assert (args.command, args.transport, args.agent) == ("serve", "stdio", "people-ops")
    required = {a["name"] for a in server["packages"][0]["packageArguments"] if a.get("isRequired")}
    assert required == {"--agent", "--config"}


def test_token_variables_are_secret_and_are_the_ones_the_starter_config_names(server):
    variables = server["packages"][0]["environmentVariables"]
    assert variables and all(v["isSecret"] is True for v in variables)
    assert all(v.get("isRequired") is False for v in variables)  # the sandbox needs none
    referenced = set(re.findall(r'token = "\$\{([A-Z_]+)\}"', starter_text()))
    assert {v["name"] for v in variables} == referenced


def test_the_readme_in_the_wheel_claims_the_registry_name(server, wheel):
    line = f"mcp-name: {server['name']}"
    assert line in (REPO / "README.md").read_text()
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        # PyPI shows this text as the project description, where the registry looks for the line.
        assert line in archive.read(metadata).decode()
