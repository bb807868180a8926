"""Schemathesis conformance: the Remote emulator answers as `tool_manifests/openapi/remote.json` says.

Bounded (a few examples per operation, positive data only) so it runs in seconds. Requests use
the Acme customer token; the rate limit is raised so the run never hits 429.
"""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ops_mcp.sandbox.remote import SANDBOX_CREDENTIALS, RemoteSandboxSettings, create_remote_app

DOCUMENT = Path(__file__).resolve().parents[2] / "tool_manifests" / "openapi" / "remote.json"

app = create_remote_app(RemoteSandboxSettings(rate_limit=1_000_000))
schema = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))
schema.app = app
AUTH = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['acme']}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@schema.exclude(path="/auth/oauth2/token").parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_remote_conforms_to_openapi(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS)
