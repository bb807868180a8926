"""The committed manifests are exactly what the build produces, and every tool is well-formed."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from ops_mcp.catalogue import load_catalogue, manifest_dir
from ops_mcp.catalogue.build import SAFE_SEGMENT_PATTERN, compact_schema, safe_path_schema
from ops_mcp.catalogue.tools import catalogue_definitions, tool_definition, validation_schema
from ops_mcp.cli.manifest import expected_files, run_build

ROOT = manifest_dir()
ANNOTATIONS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def definitions(catalogue):
    return catalogue_definitions(catalogue)


def test_committed_manifests_have_no_drift():
    built = expected_files(ROOT / "openapi", ROOT / "overlays")
    for name, content in built.items():
        assert (ROOT / name).read_text() == content, f"{name} drifted: run `ops-mcp manifest build`"
    assert run_build(None, None, None, check=True) == 0


def test_drift_is_detected(tmp_path):
    for name, content in expected_files(ROOT / "openapi", ROOT / "overlays").items():
        (tmp_path / name).write_text(content)
    manifest = json.loads((tmp_path / "remote.json").read_text())
    manifest["endpoints"][0]["summary"] = "edited by hand"
    (tmp_path / "remote.json").write_text(json.dumps(manifest))
    assert run_build(None, None, str(tmp_path), check=True) == 1


def test_manifests_validate_against_their_json_schema(catalogue):
    schema = json.loads((ROOT / "manifest.schema.json").read_text())
    for backend in catalogue:
        jsonschema.validate(json.loads((ROOT / f"{backend}.json").read_text()), schema)


def test_catalogue_sizes(catalogue):
    assert len(catalogue["remote"].endpoints) >= 31 + 13  # the 31 reference endpoints and their siblings
    assert len(catalogue["remoteops"].endpoints) == 45


REMOTE_SEED_ENDPOINTS = {
    ("GET", "/v1/employments"), ("POST", "/v1/employments"), ("GET", "/v1/employments/{employment_id}"),
    ("PATCH", "/v1/employments/{employment_id}"), ("PATCH", "/v2/employments/{employment_id}"),
    ("POST", "/v1/employments/{employment_id}/invite"), ("POST", "/v1/ready"),
    ("GET", "/v1/employment-contracts"), ("GET", "/v1/contract-amendments"), ("POST", "/v1/contract-amendments"),
    ("GET", "/v1/timeoff"), ("GET", "/v1/timeoff/{id}"), ("POST", "/v1/timeoff"), ("PATCH", "/v1/timeoff/{id}"),
    ("POST", "/v1/timeoff/{timeoff_id}/approve"), ("POST", "/v1/timeoff/{timeoff_id}/cancel"),
    ("GET", "/v1/timesheets"), ("POST", "/v1/timesheets/{timesheet_id}/approve"),
    ("POST", "/v1/timesheets/{timesheet_id}/send-back"), ("GET", "/v1/payroll-calendars"),
    ("GET", "/v1/payroll-calendars/{cycle}"), ("GET", "/v1/companies"), ("POST", "/v1/companies"),
    ("POST", "/v1/company-managers"), ("GET", "/v1/countries"), ("GET", "/v1/countries/{country_code}/{form}"),
    ("GET", "/v1/countries/{country_code}/holidays/{year}"), ("GET", "/v1/contractor-invoices"),
    ("GET", "/v1/contractor-invoices/{id}"), ("POST", "/v1/contractor-invoice-schedules"),
    ("GET", "/v1/billing-documents"),
}


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_remote_seed_endpoint_is_a_tool(catalogue):
    have = {(e.method, _normalise(e.path)) for e in catalogue["remote"].endpoints}
    missing = {(m, p) for m, p in REMOTE_SEED_ENDPOINTS if (m, _normalise(p)) not in have}
    assert not missing, f"seed endpoints without a tool: {sorted(missing)}"


def test_every_tool_is_complete(definitions):
    names = [d["name"] for d in definitions]
    assert len(names) == len(set(names))
    for tool in definitions:
        assert re.fullmatch(r"^(remote|remoteops)_[a-z0-9_]{1,54}$", tool["name"]), tool["name"]
        assert tool["title"] and tool["description"]
        assert set(tool["annotations"]) == set(ANNOTATIONS), tool["name"]
        assert all(isinstance(tool["annotations"][key], bool) for key in ANNOTATIONS)
        assert tool["inputSchema"]["type"] == "object"
        assert tool["outputSchema"]["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
        jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])


def test_annotations_follow_access(catalogue):
    for manifest in catalogue.values():
        for endpoint in manifest.endpoints:
            hints = tool_definition(endpoint)["annotations"]
            assert hints["readOnlyHint"] is (endpoint.method == "GET"), endpoint.tool
            if hints["readOnlyHint"]:
                assert not hints["destructiveHint"] and hints["idempotentHint"]
            if endpoint.method == "DELETE":
                assert hints["destructiveHint"], endpoint.tool


BAD_SEGMENTS = ["../etc", "a/b", "..", "a%2Fb", "a\nb", "a\x00b", "a b", "x?y=1", "a#b", "a\\b", ""]


def test_path_parameters_reject_traversal_and_controls(catalogue):
    checked = 0
    for manifest in catalogue.values():
        for endpoint in manifest.endpoints:
            for name, schema in endpoint.parameters.path.get("properties", {}).items():
                if schema.get("type") != "string" or "enum" in schema:
                    continue
                validator = jsonschema.Draft202012Validator(schema)
                for bad in BAD_SEGMENTS:
                    assert not validator.is_valid(bad), f"{endpoint.tool}.{name} accepts {bad!r}"
                checked += 1
    assert checked >= 40


def test_safe_path_schema_keeps_a_strict_pattern_and_replaces_a_loose_one():
    strict = {"type": "string", "pattern": "^[A-Z]{3}$"}
    assert safe_path_schema(strict) == strict
    loose = safe_path_schema({"type": "string", "pattern": ".*"})
    assert loose["pattern"] == SAFE_SEGMENT_PATTERN


def test_compaction_keeps_what_constrains_a_call():
    schema = {
        "type": "string", "description": "long prose", "example": "x", "x-jsf": 1,
        "oneOf": [{"const": "yes", "title": "Yes"}, {"const": "no", "title": "No"}],
    }
    assert compact_schema(schema) == {"type": "string", "enum": ["yes", "no"]}


def test_validation_refuses_unknown_arguments(catalogue):
    endpoint = catalogue["remote"].endpoint("remote_list_employments")
    validator = jsonschema.Draft202012Validator(validation_schema(endpoint))
    assert validator.is_valid({"page": 2})
    assert not validator.is_valid({"pagee": 2})

