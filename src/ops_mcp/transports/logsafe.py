"""No raw peer text in a log line: every record of the server's loggers is made one visible line.

Request paths, query strings, header values (Host, Origin, Mcp-Session-Id, a JWT's ``kid``), webhook ids
and exception messages quoting them are all chosen by whoever sends the request, often unauthenticated. Our
own log calls neutralise what they include, but the SDK, uvicorn and Starlette log such values too (``Invalid
Origin header: …``, ``Received invalid session ID: …``), some in f-strings. So the log record factory is
wrapped once per process: for records of the loggers listed in ``PREFIXES``, the message and its arguments
go through ``ops_mcp.text.neutralise`` (newlines, ESC, C1 controls, bidi and zero-width characters become
visible escapes), and a traceback keeps its frames (server code) but has its exception text neutralised.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from ..logthrottle import ThrottledLog
from ..text import neutralise

PREFIXES = ("ops_mcp", "mcp", "uvicorn", "starlette", "sse_starlette", "httpx", "httpcore", "jwt")
MAX_MESSAGE = 4000
# Loggers that write a line for each bad request a peer sends, as often as it likes (a bad Origin, an unknown
# session id, a rejected credential, an unparseable request): at most one line per kind every THROTTLE_SECONDS,
# with the count of lines held back. Errors are never held back.
THROTTLED = ("mcp.server.transport_security", "mcp.server.streamable_http_manager", "mcp.server.sse",
             "mcp.server.streamable_http", "mcp.server._streamable_http_modern", "uvicorn.error", "ops_mcp.auth")
THROTTLE_SECONDS = 10.0

_installed = False


def install() -> None:
    """Wrap the process's log record factory (idempotent; records of other loggers are left alone)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # logging.makeLogRecord builds a record with no name and fills it in afterwards: not one of ours.
        if isinstance(record.name, str) and _ours(record.name):
            _neutralise(record)
        return record

    logging.setLogRecordFactory(factory)
    throttle = PeerLineThrottle()
    for name in THROTTLED:
        logging.getLogger(name).addFilter(throttle)
    _installed = True


class PeerLineThrottle(logging.Filter):
    """Holds back repeats of a peer-caused line (same logger, same opening words) for a while."""

    def __init__(self, every: float = THROTTLE_SECONDS) -> None:
        super().__init__()
        self.lines = ThrottledLog(every=every)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        message = record.getMessage()
        held = self.lines.admit((record.name, message[:24]))
        if held is None:
            return False
        if held:
            record.msg, record.args = f"{message} ({held} more like this not logged)", None
        return True


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PREFIXES)


def _neutralise(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: show what there is rather than lose the line
        message = f"{record.msg!r} {record.args!r}"
    # A trailing newline forges nothing (uvicorn ends some messages with one); inside, every one is escaped.
    record.msg, record.args = neutralise(message.rstrip("\n"), MAX_MESSAGE), None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = _traceback(record.exc_info[1])


def _traceback(exc: BaseException) -> str:
    """The traceback as usual, except that each exception's own text is one neutralised line."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    chain: list[tuple[BaseException, str]] = []  # (exception, how it follows the one printed before it)
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause, context = current.__cause__, current.__context__
        if cause is not None:
            link = "\nThe above exception was the direct cause of the following exception:\n\n"
            nxt: BaseException | None = cause
        elif context is not None and not current.__suppress_context__:
            link = "\nDuring handling of the above exception, another exception occurred:\n\n"
            nxt = context
        else:
            link, nxt = "", None
        chain.append((current, link))
        current = nxt
    for item, link in reversed(chain):  # the root cause first, as the interpreter prints it
        frames = "".join(traceback.format_tb(item.__traceback__)) if item.__traceback__ else ""
        only = "".join(traceback.format_exception_only(type(item), item)).rstrip("\n")
        head = "Traceback (most recent call last):\n" + frames if frames else ""
        parts.append(link + head + neutralise(only, MAX_MESSAGE) + "\n")
    return "".join(parts).rstrip("\n")
