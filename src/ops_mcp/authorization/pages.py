"""The small HTML pages a company admin's browser shows at the end of a consent (all text escaped)."""

from __future__ import annotations

import html


def page(title: str, message: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")


def connected_page(backend: str, connection: str, company_id: str) -> str:
    return page("Connected", f"ops-mcp's {backend} connection {connection} now acts for company {company_id}. "
                "You can close this window.")


def failed_page(message: str) -> str:
    return page("Not connected", message)
