"""Structured logs: one JSON event per line on stderr, no secret in any line, agent text neutralised."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from ops_mcp import logs
from ops_mcp.transports.http import free_port

from .demo_support import clean_env, demo_config, ops_mcp_command, running, wait_ready

HOSTILE = "remote_list\n2026-01-01 INFO ops_mcp.audit: forged line \u202eevil\u200b\x1b[31m"


@pytest.fixture
def json_logs(capsys):
    logs.configure_logging("json")
    logs.protect(["upstream-secret-123"])
    yield lambda: capsys.readouterr().err
    logs.protect(())
    logs.configure_logging("text")


def test_a_json_event_is_one_line_with_agent_text_neutralised(json_logs) -> None:
    logging.getLogger("ops_mcp.server").warning("tool %s failed", HOSTILE, extra={"agent": "hr\nroot"})
    lines = json_logs().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["level"] == "warning" and event["logger"] == "ops_mcp.server" and event["ts"].endswith("Z")
    assert "\n" not in event["message"] and "\u202e" not in event["message"] and "\x1b" not in event["message"]
    assert "\\u000a2026-01-01" in event["message"] and "\\u202eevil" in event["message"]
    assert event["agent"] == "hr\\u000aroot"


def test_no_secret_reaches_a_log_line(json_logs) -> None:
    log = logging.getLogger("ops_mcp.upstream")
    log.info("calling with %s and Authorization: Bearer abc123def456ghi", "upstream-secret-123")
    log.info("agent token omcp_AbCdEfGh12345678 and key rops_live_abcdefgh12345")
    try:
        raise RuntimeError("token upstream-secret-123 refused")
    except RuntimeError:
        log.exception("call failed")
    out = json_logs()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 3
    for secret in ("upstream-secret-123", "abc123def456ghi", "omcp_AbCdEfGh12345678", "rops_live_abcdefgh12345"):
        assert secret not in out
    assert events[0]["message"] == "calling with [redacted] and Authorization: [redacted]"
    failure = events[2]["exception"]
    assert failure["type"] == "RuntimeError" and "[redacted]" in failure["message"]
    assert "Traceback" in failure["stack"] and "upstream-secret-123" not in failure["stack"]


def test_text_lines_are_neutralised_too(capsys) -> None:
    logs.configure_logging("text")
    logging.getLogger("ops_mcp.server").warning("tool %s failed", HOSTILE)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "forged line" in err and "\\u000a2026-01-01" in err


def test_bearer_words_stay_readable() -> None:
    assert logs.SCRUBBER.text("rejected a bearer credential (0.2 ms)") == "rejected a bearer credential (0.2 ms)"


@pytest.mark.parametrize("how", ["flag", "config"])
def test_the_server_logs_json_lines_only(tmp_path: Path, how: str) -> None:
    """Every line the HTTP server writes to stderr — its own, the SDK's, uvicorn's — is one JSON event."""
    config = demo_config(tmp_path)
    if how == "config":
        config.write_text(config.read_text() + '\n[logging]\nformat = "json"\n')
    flag = ["--log-format", "json"] if how == "flag" else []
    port = free_port()
    argv = [*ops_mcp_command(), "serve", "--transport", "http", "--port", str(port), "--config", str(config), *flag]
    with running(argv, cwd=tmp_path, env=clean_env(), ready_marker=None):
        wait_ready(f"http://127.0.0.1:{port}")
        refused = httpx.post(f"http://127.0.0.1:{port}/mcp", json={}, headers={"Authorization": "Bearer omcp_nopenope1"})
        assert refused.status_code == 401
    lines = (tmp_path / "server.stderr").read_text().splitlines()
    events = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    loggers = {event["logger"] for event in events}
    assert {"ops_mcp.http", "ops_mcp.serve", "uvicorn.error"} <= loggers
    assert any("no agent has a token yet" in event["message"] for event in events)
    assert "omcp_nopenope1" not in "\n".join(lines)
