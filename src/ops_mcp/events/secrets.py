"""Webhook signing secrets, one set per back end and connection, kept in ``webhook_secrets.json`` in the
state dir (mode 0600): ``{backend: {connection: {"secrets": [...], "id": ..., "url": ..., "registered_at": ...}}}``.

The secret that verifies a delivery tells which tenant sent it; during a rotation the previous secret stays
valid beside the new one.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..statefiles import write_atomic

log = logging.getLogger("ops_mcp.webhooks")

SECRETS_FILE = "webhook_secrets.json"


class WebhookSecrets:
    """``{backend: {connection: {"secrets": [...], "id": ..., "url": ..., "registered_at": ...}}}``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / SECRETS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, dict[str, dict[str, Any]]] = {}

    def for_backend(self, backend: str) -> list[tuple[str, str]]:
        """(connection, secret) pairs, newest secret first per connection."""
        with self._lock:
            self._reload()
            return [(conn, secret) for conn, entry in self._data.get(backend, {}).items()
                    for secret in entry.get("secrets", [])]

    def entries(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self._lock:
            self._reload()
            return json.loads(json.dumps(self._data))

    def put(self, backend: str, connection: str, secret: str, *, remote_id: str | None, url: str,
            keep_previous: bool = False) -> None:
        with self._lock:
            self._reload()
            entry = self._data.setdefault(backend, {}).get(connection, {})
            previous = entry.get("secrets", [])[:1] if keep_previous else []
            self._data[backend][connection] = {
                "secrets": [secret, *[s for s in previous if s != secret]], "id": remote_id, "url": url,
                "registered_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self._write()

    def _reload(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._data = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                self._data = json.loads(self.path.read_text()).get("backends", {})
            except (OSError, ValueError):
                log.error("cannot read %s; webhook deliveries cannot be verified until it is fixed", self.path)
                self._data = {}
            self._stamp = stamp

    def _write(self) -> None:
        write_atomic(self.path, json.dumps({"format": 1, "backends": self._data}, indent=1),
                     prefix=".webhook_secrets.")
        self._stamp = None
