"""The RemoteOps OpenAPI document and its overlay agree with the v1 design (remoteops_api.md §4)."""

import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

MANIFESTS = Path(__file__).resolve().parents[2] / "tool_manifests"
METHODS = ("get", "put", "post", "patch", "delete")

# §4 endpoint catalogue: operationId -> (method, path, Idem column).
CATALOGUE = {
    "listWorkOrders": ("get", "/work-orders", "S"),
    "createWorkOrder": ("post", "/work-orders", "K?"),
    "getWorkOrder": ("get", "/work-orders/{work_order_id}", "S"),
    "updateWorkOrder": ("patch", "/work-orders/{work_order_id}", "I"),
    "assignWorkOrder": ("put", "/work-orders/{work_order_id}/assignment", "I"),
    "transitionWorkOrder": ("post", "/work-orders/{work_order_id}/transitions", "K?"),
    "listWorkOrderTimeline": ("get", "/work-orders/{work_order_id}/timeline", "S"),
    "addWorkOrderAttachment": ("post", "/work-orders/{work_order_id}/attachments", "K?"),
    "listTechnicians": ("get", "/technicians", "S"),
    "listCustomers": ("get", "/customers", "S"),
    "createCustomer": ("post", "/customers", "K?"),
    "getCustomer": ("get", "/customers/{customer_id}", "S"),
    "listSites": ("get", "/sites", "S"),
    "createSite": ("post", "/sites", "K?"),
    "getSite": ("get", "/sites/{site_id}", "S"),
    "listContracts": ("get", "/contracts", "S"),
    "createContract": ("post", "/contracts", "K?"),
    "getContract": ("get", "/contracts/{contract_id}", "S"),
    "updateContract": ("patch", "/contracts/{contract_id}", "I"),
    "generateContractWorkOrders": ("post", "/contracts/{contract_id}/generate-work-orders", "I"),
    "listContractBillingCycles": ("get", "/contracts/{contract_id}/billing-cycles", "S"),
    "listInvoices": ("get", "/invoices", "S"),
    "createInvoice": ("post", "/invoices", "K?"),
    "getInvoice": ("get", "/invoices/{invoice_id}", "S"),
    "issueInvoice": ("post", "/invoices/{invoice_id}/issue", "K!"),
    "recordInvoicePayment": ("post", "/invoices/{invoice_id}/payments", "K!"),
    "voidInvoice": ("post", "/invoices/{invoice_id}/void", "K?"),
    "getInvoicePdf": ("get", "/invoices/{invoice_id}/pdf", "S"),
    "createCreditNote": ("post", "/invoices/{invoice_id}/credit-notes", "K!"),
    "listCalls": ("get", "/calls", "S"),
    "getCall": ("get", "/calls/{call_id}", "S"),
    "getCallTranscript": ("get", "/calls/{call_id}/transcript", "S"),
    "getCallRecording": ("get", "/calls/{call_id}/recording", "S"),
    "listAssets": ("get", "/assets", "S"),
    "createAsset": ("post", "/assets", "K?"),
    "getAsset": ("get", "/assets/{asset_id}", "S"),
    "listStockLevels": ("get", "/stock-levels", "S"),
    "createStockMovement": ("post", "/stock-movements", "K!"),
    "checkOutEquipment": ("post", "/equipment-checkouts", "K?"),
    "returnEquipment": ("post", "/equipment-checkouts/{checkout_id}/return", "I"),
    "listWebhookEndpoints": ("get", "/webhook-endpoints", "S"),
    "createWebhookEndpoint": ("post", "/webhook-endpoints", "K?"),
    "updateWebhookEndpoint": ("patch", "/webhook-endpoints/{webhook_endpoint_id}", "I"),
    "listEvents": ("get", "/events", "S"),
    "redeliverEvent": ("post", "/events/{event_id}/redeliver", "I"),
}
IDEMPOTENCY = {"S": "safe", "I": "idempotent", "K?": "key-optional", "K!": "key-required"}
TOOL_NAME = re.compile(r"^remoteops_[a-z0-9_]{1,54}$")


@pytest.fixture(scope="module")
def doc():
    return json.loads((MANIFESTS / "openapi" / "remoteops.json").read_text())


@pytest.fixture(scope="module")
def overlay():
    return json.loads((MANIFESTS / "overlays" / "remoteops.json").read_text())


@pytest.fixture(scope="module")
def operations(doc):
    """operationId -> (method, path, operation) over `paths` (webhooks are not operations)."""
    ops = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op_id = item[method]["operationId"]
                assert op_id not in ops, f"duplicate operationId {op_id}"
                ops[op_id] = (method, path, item[method])
    return ops


def resolve(doc, node):
    while "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def params_of(doc, path_item, op):
    return [resolve(doc, p) for p in path_item.get("parameters", []) + op.get("parameters", [])]


def test_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_servers_and_bearer_security(doc):
    urls = [s["url"] for s in doc["servers"]]
    assert "https://api.remoteops.example/v1" in urls
    assert any("sandbox" in u for u in urls)
    assert doc["security"] == [{"bearer": []}]
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_exactly_the_45_catalogue_operations(operations):
    assert len(CATALOGUE) == 45
    assert set(operations) == set(CATALOGUE)
    for op_id, (method, path, _idem) in CATALOGUE.items():
        assert operations[op_id][:2] == (method, path), op_id


def test_every_operation_declares_its_idempotency_class(operations):
    for op_id, (_method, _path, op) in operations.items():
        assert op.get("x-idempotency") == IDEMPOTENCY[CATALOGUE[op_id][2]], op_id


def test_key_required_operations_require_the_idempotency_key_header(doc, operations):
    for op_id, (method, path, op) in operations.items():
        keys = [
            p
            for p in params_of(doc, doc["paths"][path], op)
            if p["in"] == "header" and p["name"].lower() == "idempotency-key"
        ]
        if CATALOGUE[op_id][2] == "K!":
            assert keys and keys[0]["required"] is True, op_id
        elif keys:
            assert keys[0].get("required") is not True, op_id
        if method in ("post", "patch"):
            assert keys, f"{op_id} should accept Idempotency-Key"


def test_path_parameters_are_declared(doc, operations):
    for op_id, (_method, path, op) in operations.items():
        declared = {p["name"] for p in params_of(doc, doc["paths"][path], op) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), op_id


def test_error_responses(operations):
    for op_id, (method, path, op) in operations.items():
        codes = set(op["responses"])
        assert {"401", "429"} <= codes, op_id
        if "{" in path:
            assert "404" in codes, op_id
        if method != "get":
            assert "403" in codes, op_id
        if CATALOGUE[op_id][2] == "K!":
            assert "400" in codes, op_id
        for code in codes - {"default"}:
            if code.startswith(("4", "5")):
                assert op["responses"][code]["$ref"].startswith("#/components/responses/"), (op_id, code)


def test_problem_responses_use_problem_json(doc):
    for name, response in doc["components"]["responses"].items():
        content = response["content"]["application/problem+json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, name
        assert "Request-Id" in response["headers"], name
    assert "WWW-Authenticate" in doc["components"]["responses"]["Unauthorized"]["headers"]
    assert "Retry-After" in doc["components"]["responses"]["TooManyRequests"]["headers"]


def test_success_responses_carry_rate_limit_and_request_id_headers(operations):
    for op_id, (_method, _path, op) in operations.items():
        success = [r for code, r in op["responses"].items() if code.startswith("2")]
        assert len(success) == 1, op_id
        headers = success[0]["headers"]
        for name in (
            "RateLimit-Policy",
            "RateLimit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Request-Id",
        ):
            assert name in headers, (op_id, name)


def test_binary_endpoints(doc, operations):
    pdf = operations["getInvoicePdf"][2]["responses"]["200"]
    assert list(pdf["content"]) == ["application/pdf"]
    assert "Content-Language" in pdf["headers"]
    upload = operations["addWorkOrderAttachment"][2]["requestBody"]["content"]
    assert list(upload)[0] == "application/json"
    assert "multipart/form-data" in upload


def test_webhooks_cover_every_event_type(doc):
    event_types = set(doc["components"]["schemas"]["EventType"]["enum"])
    assert len(event_types) == 40
    assert set(doc["webhooks"]) == event_types


def test_overlay_matches_operations(doc, overlay, operations):
    entries = overlay["operations"]
    assert set(entries) - set(operations) == set(), "overlay names unknown operationIds"
    assert set(operations) - set(entries) == set(), "operations missing from the overlay"
    event_types = set(doc["components"]["schemas"]["EventType"]["enum"])
    for op_id, entry in entries.items():
        assert entry["area"] in overlay["areas"], op_id
        assert entry["title"] and entry["summary"], op_id
        assert len(entry["summary"].split()) <= 20, op_id
        assert set(entry.get("events", [])) <= event_types, op_id


def test_tool_names_are_prefixed_and_unique(overlay):
    names = [entry["tool"] for entry in overlay["operations"].values()]
    for name in names:
        assert TOOL_NAME.match(name), name
    assert len(names) == len(set(names))
    assert overlay["backend"]["name"] == "remoteops"
