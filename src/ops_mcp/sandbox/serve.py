"""``ops-mcp sandbox``: serve both emulated APIs on one loopback port."""

from __future__ import annotations

import sys


def serve_sandbox(host: str, port: int, config_path: str | None) -> int:
    import uvicorn

    from ..config import ConfigError, load_settings
    from .app import banner
    from .embedded import embedded_sandbox_app

    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        print(f"ops-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    app = embedded_sandbox_app(settings.sandbox)
    print(banner(f"http://{host}:{port}"), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
