"""Log output on stderr: text lines or one JSON object per line, never a secret, never raw agent text.

Every record passes the same two nets, whatever the format and whoever logged it (ops-mcp, the MCP
SDK, uvicorn): the deployment's credentials and anything shaped like a token are cut out (the audit
log's value scrubbing), and characters that could forge a second line or reorder what a person reads
are escaped (``text.neutralise``). A JSON line is a complete event: time, level, logger, message, the
record's extra fields and, when a trace is active, its ids.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .audit.redact import DEFAULT_SECRET_PATTERNS, make_scrubber
from .text import neutralise

# Credentials that are secrets wherever they appear in a log line: a bearer value (one with a digit or
# symbol in it, so that the words "bearer credential" stay readable), ops-mcp agent tokens, the back ends'
# live and test keys, and JWTs.
LOG_SECRET_PATTERNS: tuple[str, ...] = (
    r"\b(?i:bearer)\s+(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}",
    *(pattern for pattern in DEFAULT_SECRET_PATTERNS if "bearer" not in pattern),
    r"\bomcp_[A-Za-z0-9_-]{8,}",
    r"\b(?:ra|rops)_(?:live|test)_[A-Za-z0-9_-]{8,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
)
# What a LogRecord carries by itself; anything else was passed with ``extra=`` and belongs in the event.
# uvicorn's ``color_message`` is the message again, with terminal colour codes.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Scrubber:
    """The value net, rebuilt when the runtime learns the deployment's credentials."""

    def __init__(self) -> None:
        self._scrub = make_scrubber((), LOG_SECRET_PATTERNS)

    def protect(self, secrets: Iterable[str]) -> None:
        self._scrub = make_scrubber(tuple(secrets), LOG_SECRET_PATTERNS)

    def text(self, value: str) -> str:
        scrubbed = self._scrub(value)
        return scrubbed if isinstance(scrubbed, str) else str(scrubbed)

    def value(self, value: Any) -> Any:
        return self._scrub(value)


SCRUBBER = _Scrubber()


def protect(secrets: Iterable[str]) -> None:
    """From now on, cut these credentials (upstream tokens, client secrets) out of every log record."""
    SCRUBBER.protect(secrets)


def _message(record: logging.LogRecord) -> str:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the event
        message = f"{record.msg!r} {record.args!r}"
    return neutralise(SCRUBBER.text(message))


def _exception(record: logging.LogRecord) -> dict[str, str] | None:
    if not record.exc_info or record.exc_info[0] is None:
        return None
    kind, value, tb = record.exc_info
    # Line by line: the scrubber caps each string's length, and a whole traceback is longer than that.
    lines = "".join(traceback.format_exception(kind, value, tb)).splitlines()
    return {"type": kind.__name__, "message": neutralise(SCRUBBER.text(str(value))),
            "stack": "\n".join(SCRUBBER.text(line) for line in lines)}


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message`` on one line; a traceback follows on its own lines, scrubbed."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {_message(record)}"
        error = _exception(record)
        return f"{line}\n{error['stack']}" if error else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, extras, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _message(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in event:
                event[key] = _safe(value)
        event.update(_trace_ids())
        error = _exception(record)
        if error:
            event["exception"] = error
        return json.dumps(event, ensure_ascii=False, default=str)


def _safe(value: Any) -> Any:
    """An extra field as JSON: scrubbed, and strings neutralised."""
    scrubbed = SCRUBBER.value(value if isinstance(value, str | int | float | bool | type(None) | dict | list)
                              else str(value))
    if isinstance(scrubbed, str):
        return neutralise(scrubbed)
    return scrubbed


def _trace_ids() -> dict[str, str]:
    """The active span's ids, when tracing is on (never imports OpenTelemetry by itself)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class _OpsHandler(logging.StreamHandler):
    """The stderr handler ops-mcp installs (so it can tell its own from an embedding program's); it
    writes to whatever ``sys.stderr`` is at the time, so a replaced stderr is never written after close."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Root logging to stderr in ``log_format`` ("text" or "json"), replacing ops-mcp's earlier handler
    (and leaving handlers that others installed alone)."""
    handler = _OpsHandler()
    handler.setFormatter(_formatter(log_format))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OpsHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def use_format(log_format: str) -> None:
    """Switch ops-mcp's stderr handler to ``log_format``; a program that set up logging itself keeps its own."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _OpsHandler):
            handler.setFormatter(_formatter(log_format))


def _formatter(log_format: str) -> logging.Formatter:
    if log_format not in ("text", "json"):
        raise ValueError(f"log format {log_format!r}: text or json")
    return JsonFormatter() if log_format == "json" else TextFormatter()
