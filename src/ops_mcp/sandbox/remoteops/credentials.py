"""Fixed sandbox API keys. Each key is bound to exactly one tenant."""

from __future__ import annotations

from dataclasses import dataclass

NORTHWIND = "ten_northwind"
CONTOSO = "ten_contoso"

SANDBOX_CREDENTIALS: dict[str, str] = {
    "northwind": "rops_test_northwind_4eC39HqLyjWDarjtT1zdp7dc",
    "contoso": "rops_test_contoso_9fA27KpQxwYBnrmsU3vce5ha",
    "northwind_readonly": "rops_test_ro_northwind_2bD81MzRtuVEkjqxH6pa",
    "live_example": "rops_live_northwind_7hG52NcWsyTFbqkrJ4ud",
}


@dataclass(frozen=True)
class ApiKey:
    key: str
    tenant_id: str
    read_only: bool = False


API_KEYS: dict[str, ApiKey] = {
    SANDBOX_CREDENTIALS["northwind"]: ApiKey(SANDBOX_CREDENTIALS["northwind"], NORTHWIND),
    SANDBOX_CREDENTIALS["contoso"]: ApiKey(SANDBOX_CREDENTIALS["contoso"], CONTOSO),
    SANDBOX_CREDENTIALS["northwind_readonly"]: ApiKey(
        SANDBOX_CREDENTIALS["northwind_readonly"], NORTHWIND, read_only=True
    ),
}

# Human names of the seeded tenants, shown in audit sentences and confirmations.
SANDBOX_TENANT_LABELS: dict[str, str] = {
    "northwind": "Northwind Elevators", "northwind_readonly": "Northwind Elevators", "contoso": "Contoso Climate",
}
