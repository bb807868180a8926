"""Fixed sandbox credentials, printed by `ops-mcp sandbox` (no real secrets: sandbox only)."""

from __future__ import annotations

SANDBOX_CREDENTIALS: dict[str, str] = {
    # Customer API tokens: two for Acme GmbH (they share Acme's rate-limit budget), one for Globex Ltd.
    "acme": "ra_test_acme_7f3c9a2e51d84b06c1e5",
    "acme_second_token": "ra_test_acme2_0b8e44d1c6f2a9735d11",
    "globex": "ra_test_globex_5d21e07a9c3b48f6a0c2",
    # A production token: the sandbox gateway answers 401 (wrong environment).
    "live_example": "ra_live_acme_9a1f6c3e7b2d40581f7e",
    # OAuth 2.0 partner with every scope, authorised by both companies.
    "partner_client_id": "sandbox-partner-7c1d",
    "partner_client_secret": "sandbox-partner-secret-3e9d1f7a8b24",
    # Read-only partner (no write scopes, e.g. no timeoff:write), authorised by both companies.
    "limited_partner_client_id": "sandbox-limited-partner-52ab",
    "limited_partner_client_secret": "sandbox-limited-secret-c93f0e17d6a8",
}

PARTNER_CLIENT_IDS = (SANDBOX_CREDENTIALS["partner_client_id"], SANDBOX_CREDENTIALS["limited_partner_client_id"])

# Human names of the seeded companies, shown in audit sentences and confirmations.
SANDBOX_TENANT_LABELS: dict[str, str] = {"acme": "Acme GmbH", "acme_second_token": "Acme GmbH", "globex": "Globex Ltd"}
