"""Canary credentials for item 4 (secrets): tokens carrying a unique marker, made valid in the embedded
sandbox by adding them to its credential tables (the sandbox stands in for the vendors, who would issue them).

Run as a script, it is ``ops-mcp`` with the canaries registered, logging at DEBUG to stderr and optional
sandbox faults: ``python rel3_canary.py serve --transport stdio ...`` with ``REL3_CANARY`` set (JSON).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

ENV = "REL3_CANARY"
FAULTS_APPLIED = "rel3: sandbox faults applied:"


@dataclass
class Canary:
    mark: str = "LEAKCANARY5e1f0c9a7b3d"  # fixed: a string that occurs nowhere unless a secret leaked

    @property
    def acme_token(self) -> str:  # Remote customer API token (valid: registered for Acme)
        return f"ra_test_{self.mark}_acme"

    @property
    def partner_secret(self) -> str:  # Remote OAuth client secret (valid: the sandbox partner's new secret)
        return f"{self.mark}-oauth-client-secret"

    @property
    def wrong_partner_secret(self) -> str:  # Remote OAuth client secret the sandbox refuses (401)
        return f"{self.mark}-wrong-client-secret"

    @property
    def northwind_token(self) -> str:  # RemoteOps API key (valid: registered for Northwind)
        return f"rops_test_{self.mark}_northwind"

    @property
    def contoso_token(self) -> str:  # RemoteOps API key the sandbox does not know (401 on every call)
        return f"rops_test_{self.mark}_contoso_unknown"

    def configured(self) -> dict[str, str]:
        return {
            "acme token": self.acme_token,
            "partner secret": self.partner_secret,
            "wrong partner secret": self.wrong_partner_secret,
            "northwind token": self.northwind_token,
            "contoso token": self.contoso_token,
        }

    def backends(self) -> dict[str, Any]:
        from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS

        partner = SANDBOX_CREDENTIALS["partner_client_id"]
        return {
            "remote": {
                "connections": {
                    "acme": {"label": "Acme GmbH", "token": self.acme_token, "timeout": 5},
                    "globex": {
                        "label": "Globex Ltd",
                        "oauth": {"client_id": partner, "client_secret": self.partner_secret},
                        "timeout": 5,
                    },
                    "initech": {
                        "label": "Initech",
                        "oauth": {"client_id": partner, "client_secret": self.wrong_partner_secret},
                    },
                }
            },
            "remoteops": {
                "connections": {
                    "northwind": {
                        "label": "Northwind Elevators",
                        "token": self.northwind_token,
                        "timeout": 5,
                    },
                    "contoso": {"label": "Contoso", "token": self.contoso_token},
                }
            },
        }

    def register(self) -> list[tuple[dict, Any, Any]]:
        """Make the canaries valid in this process's sandbox; returns what to undo."""
        from ops_mcp.sandbox.remote import auth as remote_auth
        from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS
        from ops_mcp.sandbox.remoteops import auth as remoteops_auth  # noqa: F401 - API_KEYS lives in credentials
        from ops_mcp.sandbox.remoteops.credentials import API_KEYS, NORTHWIND, ApiKey

        partner = SANDBOX_CREDENTIALS["partner_client_id"]
        changes = [
            (remote_auth.CUSTOMER_TOKENS, self.acme_token, "acme"),
            (
                remote_auth.PARTNERS,
                partner,
                remote_auth.PartnerClient(partner, self.partner_secret, remote_auth.ALL_SCOPES),
            ),
            (API_KEYS, self.northwind_token, ApiKey(self.northwind_token, NORTHWIND)),
        ]
        undo = []
        for table, key, value in changes:
            undo.append((table, key, table.get(key)))
            table[key] = value
        return undo

    @staticmethod
    def unregister(undo: list[tuple[dict, Any, Any]]) -> None:
        for table, key, previous in reversed(undo):
            if previous is None:
                table.pop(key, None)
            else:
                table[key] = previous


def _main() -> int:
    import logging

    spec = json.loads(os.environ[ENV])
    Canary(spec["mark"]).register()
    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import ops_mcp.cli.serve as serve_cli
    import ops_mcp.sandbox.embedded as embedded

    serve_cli.setup_logging = lambda: None  # keep DEBUG (the CLI would set INFO, httpx WARNING)
    faults = spec.get("faults") or {}
    if faults:
        import atexit

        make = embedded.embedded_sandbox_app
        states: list[Any] = []

        def faulty(config: Any = None) -> Any:
            app = make(config)
            for backend in ("remote", "remoteops"):
                state = getattr(app.state, backend).state.sandbox
                state.faults = state.faults.updated(faults)
                states.append(state)
            return app

        def report() -> None:
            applied = sum(len(s.fault_log) for s in states)
            print(f"{FAULTS_APPLIED} {applied}", file=sys.stderr, flush=True)

        atexit.register(report)

        embedded.embedded_sandbox_app = faulty
    from ops_mcp.cli import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_main())
