"""Checks of the Remote OpenAPI document and its overlay (tool_manifests/{openapi,overlays}/remote.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "tool_manifests" / "openapi" / "remote.json"
OVERLAY_PATH = ROOT / "tool_manifests" / "overlays" / "remote.json"

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
TOOL_NAME = re.compile(r"^remote_[a-z0-9_]{1,57}$")
AREAS = {
    "remote.employments",
    "remote.onboarding",
    "remote.contracts",
    "remote.timeoff",
    "remote.timesheets",
    "remote.payroll",
    "remote.payslips",
    "remote.expenses",
    "remote.incentives",
    "remote.offboarding",
    "remote.probation",
    "remote.companies",
    "remote.company_managers",
    "remote.departments",
    "remote.documents",
    "remote.custom_fields",
    "remote.travel",
    "remote.countries",
    "remote.cost_calculator",
    "remote.invoices",
    "remote.webhooks",
}

# The 31 endpoints of reference/remote_api.md §1 with their legacy operationIds ("Op" column).
REFERENCE_ENDPOINTS = [
    ("get", "/v1/employments", "get_index_employment"),
    ("post", "/v1/employments", "post_create_employment"),
    ("get", "/v1/employments/{employment_id}", "get_show_employment"),
    ("patch", "/v1/employments/{employment_id}", "patch_update_employment"),
    ("patch", "/v2/employments/{employment_id}", "patch_v2_update_employment"),
    ("post", "/v1/employments/{employment_id}/invite", "post_invite_employment_invitation"),
    ("post", "/v1/ready", "post_complete_onboarding_employment"),
    ("get", "/v1/employment-contracts", "get_index_employment_contract"),
    ("get", "/v1/contract-amendments", "get_index_contract_amendment"),
    ("post", "/v1/contract-amendments", "post_create_contract_amendment"),
    ("get", "/v1/timeoff", "get_index_timeoff"),
    ("get", "/v1/timeoff/{id}", "get_show_timeoff"),
    ("post", "/v1/timeoff", "post_create_timeoff"),
    ("patch", "/v1/timeoff/{id}", "patch_update_timeoff"),
    ("post", "/v1/timeoff/{timeoff_id}/approve", "post_create_approval"),
    ("post", "/v1/timeoff/{timeoff_id}/cancel", "post_create_cancellation"),
    ("get", "/v1/timesheets", "get_index_timesheet"),
    ("post", "/v1/timesheets/{timesheet_id}/approve", "post_approve_timesheet"),
    ("post", "/v1/timesheets/{timesheet_id}/send-back", "post_send_back_timesheet"),
    ("get", "/v1/payroll-calendars", "get_index_eor_payroll_calendar"),
    ("get", "/v1/payroll-calendars/{cycle}", "get_index_payroll_calendar"),
    ("get", "/v1/companies", "get_index_company"),
    ("post", "/v1/companies", "post_create_company"),
    ("post", "/v1/company-managers", "post_create_company_manager"),
    ("get", "/v1/countries", "get_supported_country"),
    ("get", "/v1/countries/{country_code}/{form}", "get_show_form_country"),
    ("get", "/v1/countries/{country_code}/holidays/{year}", "get_index_holiday"),
    ("get", "/v1/contractor-invoices", "get_index_contractor_invoice"),
    ("get", "/v1/contractor-invoices/{id}", "get_show_contractor_invoice"),
    ("post", "/v1/contractor-invoice-schedules", "post_bulk_create_scheduled_contractor_invoice"),
    ("get", "/v1/billing-documents", "get_index_billing_document"),
]

SIBLING_ENDPOINTS = [
    ("get", "/v1/contract-amendments/{id}"),
    ("get", "/v1/contract-amendments/schema"),
    ("get", "/v1/employment-contracts/{employment_id}/pending-changes"),
    ("post", "/v1/timeoff/{timeoff_id}/decline"),
    ("post", "/v1/timeoff/{timeoff_id}/cancel-request/approve"),
    ("post", "/v1/timeoff/{timeoff_id}/cancel-request/decline"),
    ("get", "/v1/timeoff/types"),
    ("get", "/v1/timesheets/{id}"),
    ("get", "/v1/billing-documents/{billing_document_id}"),
    ("get", "/v1/billing-documents/{billing_document_id}/breakdown"),
    ("get", "/v1/companies/{company_id}/webhook-callbacks"),
    ("post", "/v1/webhook-callbacks"),
    ("patch", "/v1/webhook-callbacks/{id}"),
    ("delete", "/v1/webhook-callbacks/{id}"),
]

NON_TOOL_ENDPOINTS = [
    ("post", "/auth/oauth2/token"),
]


def _norm(path: str) -> str:
    """Path template with parameter names erased: /v1/timeoff/{id} == /v1/timeoff/{timeoff_id}."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def overlay() -> dict:
    return json.loads(OVERLAY_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def operations(doc: dict) -> dict[tuple[str, str], dict]:
    """(method, normalised path) -> operation object."""
    return {
        (method, _norm(path)): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


@pytest.fixture(scope="module")
def by_operation_id(doc: dict) -> dict[str, tuple[str, str, dict]]:
    out: dict[str, tuple[str, str, dict]] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                assert op["operationId"] not in out, f"duplicate operationId {op['operationId']}"
                out[op["operationId"]] = (method, path, op)
    return out


@pytest.mark.parametrize("path", [OPENAPI_PATH, OVERLAY_PATH], ids=["openapi", "overlay"])
def test_json_files_are_canonically_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_document_validates(doc: dict) -> None:
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    servers = {s["url"] for s in doc["servers"]}
    assert servers == {"https://gateway.remote.com", "https://gateway.remote-sandbox.com",
                       "https://gateway.partners.remote-sandbox.com"}
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")


def test_reference_endpoints_present_with_legacy_operation_ids(operations: dict) -> None:
    assert len(REFERENCE_ENDPOINTS) == 31
    missing = [(m, p) for m, p, _ in REFERENCE_ENDPOINTS if (m, _norm(p)) not in operations]
    assert not missing
    wrong = {
        op_id: operations[(m, _norm(p))]["operationId"]
        for m, p, op_id in REFERENCE_ENDPOINTS
        if operations[(m, _norm(p))]["operationId"] != op_id
    }
    assert not wrong


def test_siblings_and_non_tool_endpoints_present(operations: dict) -> None:
    missing = [(m, p) for m, p in SIBLING_ENDPOINTS + NON_TOOL_ENDPOINTS if (m, _norm(p)) not in operations]
    assert not missing


UNSCOPED = {  # operations for which Remote's reference lists no OAuth scope
    ("get", "/v1/identity/current"), ("get", "/v1/cost-calculator/countries"),
    ("post", "/v1/cost-calculator/estimation"), ("get", "/v1/cost-calculator/regions/{slug}/fields"),
    ("get", "/v1/expenses/categories"),
}


def test_every_bearer_operation_documents_scope_and_common_errors(doc: dict) -> None:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS or op.get("security") != [{"bearer": []}]:
                continue
            where = f"{method.upper()} {path}"
            assert op.get("x-token-kind") in ("company", "client_credentials", "any"), where
            if (method, path) in UNSCOPED:
                assert "x-remote-scope" not in op or op.get("x-remote-scope-inferred"), where
            else:
                assert re.fullmatch(r"[a-z_]+:(read|write)", op.get("x-remote-scope", "")), where
            codes = set(op["responses"])
            assert {"401", "403", "429"} <= codes, where
            if "{" in path:
                assert "404" in codes, where
            for code, resp in op["responses"].items():
                if code.startswith("2"):
                    assert "x-ratelimit-reset" in resp.get("headers", {}), f"{where} {code}"


def test_overlay_operations_exist_and_tool_names_are_valid(overlay: dict, by_operation_id: dict) -> None:
    entries = overlay["operations"]
    assert entries
    unknown = sorted(set(entries) - set(by_operation_id))
    assert not unknown, f"overlay names unknown operationIds: {unknown}"
    names = [entry["tool"] for entry in entries.values()]
    bad = [n for n in names if not TOOL_NAME.fullmatch(n)]
    assert not bad
    assert len(names) == len(set(names)), "duplicate tool names"


def test_overlay_covers_reference_and_siblings_but_not_auth_or_sandbox(
    overlay: dict, operations: dict
) -> None:
    tool_ops = set(overlay["operations"])
    for m, p, _ in REFERENCE_ENDPOINTS:
        assert operations[(m, _norm(p))]["operationId"] in tool_ops, (m, p)
    for m, p in SIBLING_ENDPOINTS:
        assert operations[(m, _norm(p))]["operationId"] in tool_ops, (m, p)
    for m, p in NON_TOOL_ENDPOINTS:
        assert operations[(m, _norm(p))]["operationId"] not in tool_ops, (m, p)


def test_omitted_params_exist_and_are_optional(overlay: dict, by_operation_id: dict, doc: dict) -> None:
    def resolve(node: dict) -> dict:
        while "$ref" in node:
            target = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    for op_id, entry in overlay["operations"].items():
        _, _, op = by_operation_id[op_id]
        params = {p["name"]: p for p in map(resolve, op.get("parameters", []))}
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        body = resolve(body) if body else {}
        for name in entry.get("omit_params", []):
            if name in params:
                assert not params[name].get("required") and params[name]["in"] == "query", (op_id, name)
            else:
                assert name in body.get("properties", {}), (op_id, name)
                assert name not in body.get("required", []), (op_id, name)


def test_overlay_areas(overlay: dict) -> None:
    assert set(overlay["areas"]) == AREAS
    used = {entry["area"] for entry in overlay["operations"].values()}
    assert used <= AREAS
    assert used == AREAS, f"areas without tools: {AREAS - used}"


def test_overlay_entries_are_brief(overlay: dict) -> None:
    assert overlay["backend"]["name"] == "remote"
    for op_id, entry in overlay["operations"].items():
        summary = entry["summary"]
        assert "\n" not in summary and len(summary.split()) <= 20, op_id
        assert entry["title"][:1].isupper(), op_id
        for note in entry.get("param_notes", {}).values():
            assert len(note.split()) <= 12, op_id


def test_overlay_forms(overlay: dict) -> None:
    ops = overlay["operations"]
    assert ops["post_create_employment"]["forms"] == [
        {
            "body_key": "basic_information",
            "form": "employment_basic_information",
            "country_arg": "country_code",
        }
    ]
    assert ops["patch_update_employment"]["forms"] == [
        {"body_key": "*", "country_of_employment": "employment_id"}
    ]
    assert ops["post_create_contract_amendment"]["forms"] == [
        {
            "body_key": "contract_amendment",
            "form": "contract_amendment",
            "country_of_employment": "employment_id",
            "query": {"employment_id": "{employment_id}"},
        }
    ]
    assert ops["post_create_company"]["forms"] == [
        {"body_key": "address_details", "form": "address_details", "country_arg": "country_code"}
    ]
