"""Arguments → request: path encoding and validation, query encoding, bodies, uploads."""

from __future__ import annotations

import base64
import random

import pytest

from ops_mcp.upstream.request import InvalidArguments, build_request
from ops_mcp.upstream.retry import RetryPolicy, retry_allowed


def test_path_query_and_ops_only_args(remote):
    endpoint = remote.endpoint("remote_list_employments")
    req = build_request(
        endpoint, {"status": ["active", "invited"], "page": 2, "fields": ["id"], "max_items": 50}
    )
    assert req.path == "/v1/employments"
    assert req.params == {"status": "active,invited", "page": "2"}
    assert not req.has_json_body


def test_booleans_lowercase(remote):
    endpoint = remote.endpoint("remote_get_employment")
    req = build_request(endpoint, {"employment_id": "em_1", "exclude_files": True})
    assert req.params == {"exclude_files": "true"} and req.object_id == "em_1"


@pytest.mark.parametrize("bad", ["../secrets", "a/b", "..", "wo_1\r\nX-Injected: 1", "wo_1?x=1", "%2F"])
def test_path_values_cannot_escape_their_segment(remoteops, bad):
    endpoint = remoteops.endpoint("remoteops_get_work_order")
    with pytest.raises(InvalidArguments, match="work_order_id"):
        build_request(endpoint, {"work_order_id": bad})


def test_path_segment_is_percent_encoded(remote):
    # A path parameter without a pattern: encoding still keeps any value one segment.
    endpoint = remote.endpoint("remote_get_country_form").model_copy(
        update={
            "parameters": remote.endpoint("remote_get_country_form").parameters.model_copy(
                update={"path": {"type": "object", "properties": {}}}
            )
        }
    )
    req = build_request(endpoint, {"country_code": "PRT", "form": "a b/c?d"})
    assert req.path == "/v1/countries/PRT/a%20b%2Fc%3Fd"


def test_flattened_body_and_unknown_args(remote):
    endpoint = remote.endpoint("remote_approve_timeoff")
    req = build_request(endpoint, {"timeoff_id": "to_1", "approver_id": "u1"})
    assert req.path == "/v1/timeoff/to_1/approve" and req.json_body == {"approver_id": "u1"}
    with pytest.raises(InvalidArguments, match="unknown argument: nope"):
        build_request(endpoint, {"timeoff_id": "to_1", "nope": 1})


def test_base64_upload_size_limit_names_the_field(remoteops):
    endpoint = remoteops.endpoint("remoteops_add_work_order_attachment")
    small = base64.b64encode(b"x" * 100).decode()
    args = {"work_order_id": "wo_1", "kind": "photo", "filename": "a.png", "content_type": "image/png"}
    assert build_request(endpoint, {**args, "content_base64": small}, max_upload_bytes=1000).json_body
    big = base64.b64encode(b"x" * 2000).decode()
    with pytest.raises(InvalidArguments, match="content_base64.*too large"):
        build_request(endpoint, {**args, "content_base64": big}, max_upload_bytes=1000)
    with pytest.raises(InvalidArguments, match="content_base64.*base64"):
        build_request(endpoint, {**args, "content_base64": "not base64!"})


def test_multipart_from_content_base64():
    from ops_mcp.catalogue.models import Endpoint

    endpoint = Endpoint.model_validate(
        {
            "tool": "x_upload",
            "operation_id": "upload",
            "area": "x.files",
            "access": "write",
            "method": "POST",
            "path": "/files",
            "title": "Upload",
            "summary": "Upload.",
            "parameters": {
                "body": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "kind": {"type": "string"},
                    },
                },
                "body_encoding": "multipart",
            },
            "response": {"schema": {"type": "object"}},
        }
    )
    req = build_request(
        endpoint,
        {
            "kind": "photo",
            "content_base64": base64.b64encode(b"PNG").decode(),
            "filename": "a.png",
            "content_type": "image/png",
        },
    )
    assert req.files == {"file": ("a.png", b"PNG", "image/png")} and req.form_data == {"kind": "photo"}


def test_backoff_full_jitter_and_retry_after_floor():
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0)
    rng = random.Random(1)
    delays = [policy.backoff(n, rng) for n in range(1, 8) for _ in range(50)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(policy.backoff(1, rng) for _ in range(50)) <= 0.5
    assert policy.backoff(1, rng, retry_after_s=2.0) >= 2.0
    assert policy.backoff(1, rng, retry_after_s=60.0) <= 4.0


def test_only_reads_and_keyed_writes_are_retried():
    assert retry_allowed(is_read=True, has_key=False)
    assert retry_allowed(is_read=False, has_key=True)
    assert not retry_allowed(is_read=False, has_key=False)
