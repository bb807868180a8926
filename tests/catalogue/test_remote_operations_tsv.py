"""Our Remote OpenAPI document against the reference list of Remote's real operations.

The reference is `remote_operations.tsv` (method, path, summary, scopes, token kind of every
operation of Remote's production OpenAPI). It is read from the shared reference folder next to the
repository (`../shared/reference/`) and from the copy in `tests/fixtures/`; when both exist they
must agree, when neither does the test fails (it never skips).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops_mcp.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent.parent / "shared" / "reference" / "remote_operations.tsv"
if not SHARED.exists():  # a checkout directly inside the workspace: <workspace>/<repo>
    SHARED = ROOT.parent / "shared" / "reference" / "remote_operations.tsv"
COPY = ROOT / "tests" / "fixtures" / "remote_operations.tsv"
DOCUMENT = ROOT / "tool_manifests" / "openapi" / "remote.json"
METHODS = ("get", "post", "put", "patch", "delete")
MIN_TOOLS = 110
# Operations whose token kind the reference leaves blank and that the document marks "any"; every
# other blank one reads or writes a company's records and is "company". Why "any":
ANY_TOKEN = {
    ("GET", "/v1/countries"),  # remote_api.md §1.7 "country:read; any token"; remote-flows' proxy uses client credentials
    ("GET", "/v1/company-currencies"),  # remote-flows' proxy: client credentials, before any company exists
    ("GET", "/v1/payroll-calendars"),  # Remote-wide EOR calendars; remote_api.md §2: CC tokens hold payroll_calendar:read
    ("GET", "/v1/cost-calculator/countries"),  # public calculator, no scope in the reference
    ("POST", "/v1/cost-calculator/estimation"),
    ("GET", "/v1/cost-calculator/regions/{slug}/fields"),
    ("GET", "/v1/identity/current"),  # Remote's spec answers it for all three token kinds (three response shapes)
}


def _rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    rows = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t") + [""] * len(header), strict=False))
        rows[(row["method"], row["path"])] = row
    return rows


@pytest.fixture(scope="module")
def reference() -> dict[tuple[str, str], dict[str, str]]:
    if not COPY.exists() and not SHARED.exists():
        pytest.fail(f"the reference list of Remote operations is missing: expected {COPY} (copy of "
                    f"{SHARED}); restore it from the shared reference folder")
    copy = _rows(COPY) if COPY.exists() else None
    if SHARED.exists():
        shared = _rows(SHARED)
        assert copy is None or copy == shared, f"{COPY} drifted from {SHARED}: copy the shared file again"
        return shared
    assert copy is not None
    return copy


@pytest.fixture(scope="module")
def operations() -> dict[tuple[str, str], dict]:
    doc = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return {(method.upper(), path): op for path, item in doc["paths"].items()
            for method, op in item.items() if method in METHODS}


def test_the_reference_is_complete(reference):
    assert len(reference) == 276
    assert ("GET", "/v1/employments") in reference


def test_every_documented_operation_exists_in_the_real_api(reference, operations):
    invented = sorted(f"{m} {p}" for m, p in operations if (m, p) not in reference)
    assert not invented, f"operations Remote does not have: {invented}"


def test_the_invented_list_path_is_gone(operations):
    assert ("GET", "/v1/webhook-callbacks") not in operations
    assert ("GET", "/v1/companies/{company_id}/webhook-callbacks") in operations


def test_token_kinds_follow_the_reference(reference, operations):
    for (method, path), op in operations.items():
        if op.get("security") != [{"bearer": []}]:
            continue
        stated = reference[(method, path)]["token"]
        expected = stated or ("any" if (method, path) in ANY_TOKEN else "company")
        assert op.get("x-token-kind") == expected, (method, path)


def test_scopes_are_ones_the_reference_lists(reference, operations):
    for (method, path), op in operations.items():
        scope = op.get("x-remote-scope")
        listed = reference[(method, path)]["scopes"].split()
        if listed and not op.get("x-remote-scope-inferred"):
            assert scope in listed, (method, path, scope, listed)


def test_at_least_110_remote_operations_are_tools(reference):
    endpoints = load_catalogue()["remote"].endpoints
    assert len(endpoints) >= MIN_TOOLS
    for endpoint in endpoints:
        assert (endpoint.method, endpoint.path) in reference, endpoint.tool
        assert endpoint.token_kind in ("company", "client_credentials", "any"), endpoint.tool


def test_no_sandbox_self_service_or_scim_tools():
    for endpoint in load_catalogue()["remote"].endpoints:
        assert not endpoint.path.startswith(("/v1/sandbox/", "/v1/employee/", "/v1/scim/")), endpoint.tool


def test_partner_level_tools_are_marked(reference):
    kinds = {e.tool: e.token_kind for e in load_catalogue()["remote"].endpoints}
    assert kinds["remote_list_companies"] == kinds["remote_create_company"] == "client_credentials"
    assert kinds["remote_list_employments"] == "company"
    assert kinds["remote_list_countries"] == "any"
