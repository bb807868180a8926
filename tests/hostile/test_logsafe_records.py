"""The log-record factory ops-mcp installs must accept every record the logging module can build, including
``logging.makeLogRecord``'s, which have no name when the factory sees them (a library or a test harness that
rebuilds records from dicts used to crash there)."""

from __future__ import annotations

import logging

from ops_mcp.transports import logsafe


def test_a_record_made_from_a_dict_passes_the_factory():
    logsafe.install()
    record = logging.makeLogRecord({"name": "ops_mcp.http", "msg": "peer said %s", "args": ("hi",)})
    assert record.name == "ops_mcp.http" and record.getMessage() == "peer said hi"


def test_our_records_are_still_neutralised():
    logsafe.install()
    record = logging.getLogger("ops_mcp.http").makeRecord(
        "ops_mcp.http", logging.INFO, __file__, 1, "token %s", ("a\nforged line",), None
    )
    assert "\n" not in record.getMessage()
