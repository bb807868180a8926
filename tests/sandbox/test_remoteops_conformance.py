"""Schemathesis: the RemoteOps emulator's responses conform to tool_manifests/openapi/remoteops.json.

Bounded (a few examples per operation) so the whole run stays well under a minute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ops_mcp.sandbox.remoteops import SANDBOX_CREDENTIALS, RemoteOpsSandboxSettings, create_remoteops_app

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

DOCUMENT = Path(__file__).resolve().parents[2] / "tool_manifests" / "openapi" / "remoteops.json"
RAW = json.loads(DOCUMENT.read_text())

# The document's server path is /v1; serve the emulator there, plus the document itself.
_api = create_remoteops_app(RemoteOpsSandboxSettings(rate_limit=10**9, work_orders_per_tenant=120))


async def _document(request):  # type: ignore[no-untyped-def]
    return JSONResponse(RAW)


APP = Starlette(routes=[Route("/openapi.json", _document), Mount("/v1", app=_api)])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# The coverage phase enumerates boundary values per parameter; examples + fuzzing keep the run short.
schema.config.phases.coverage.enabled = False
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
HEADERS = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['northwind']}"}


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_remoteops_conforms_to_openapi(case):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=HEADERS, checks=CHECKS)
