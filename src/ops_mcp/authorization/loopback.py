"""A one-shot loopback listener for ``ops-mcp connect``: the browser's redirect after consent lands here.

The socket is bound before the authorize URL is printed (port 0 picks a free one; a fixed ``--port``
suits back ends that want the exact redirect URI registered). Requests on other paths, or carrying
another ``state``, are answered 404/400 and ignored; the first request with the expected state is
handed to ``on_callback``, whose page is the browser's answer, and ends the wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from .flow import states_match
from .pages import failed_page


@dataclass(frozen=True)
class Callback:
    code: str | None
    error: str | None


# (the callback) → (HTTP status, HTML page for the browser)
OnCallback = Callable[[Callback], tuple[int, str]]


class LoopbackListener:
    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path
        self._server = HTTPServer((host, port), _handler(self))
        self._expected: str | None = None
        self._on_callback: OnCallback | None = None
        self._done = threading.Event()

    @property
    def redirect_uri(self) -> str:
        host, port = self._server.server_address[:2]
        shown = host.decode() if isinstance(host, bytes) else host
        return f"http://{shown}:{port}{self.path}"

    def wait(self, state: str, on_callback: OnCallback, timeout_s: float) -> bool:
        """Serve until the callback with ``state`` was handled (True) or ``timeout_s`` passed (False)."""
        self._expected, self._on_callback = state, on_callback
        deadline = time.monotonic() + timeout_s
        while not self._done.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._server.timeout = min(left, 1.0)
            self._server.handle_request()
        return True

    def close(self) -> None:
        self._server.server_close()

    def _answer(self, target: str) -> tuple[int, str]:
        parts = urlsplit(target)
        if parts.path != self.path or self._done.is_set():
            return 404, failed_page("Nothing is waiting here.")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self._expected is None or not states_match(self._expected, query.get("state")):
            return 400, failed_page("This answer does not belong to the authorization ops-mcp is waiting for.")
        assert self._on_callback is not None
        try:
            return self._on_callback(Callback(query.get("code"), query.get("error")))
        finally:
            self._done.set()


def _handler(listener: LoopbackListener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            status, body = listener._answer(self.path)
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("cache-control", "no-store")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep codes out of logs
            return

    return Handler
