"""The peer: FastMCP's ``from_openapi`` over both OpenAPI documents, pointed at the same sandbox.

Runs inside ``benchmarks/.peer-venv`` (see ``peer_env.py``) and imports nothing from ops-mcp. This is
"just generate an MCP server from the OpenAPI file": one tool per operation, tokens held by the
server, no policy, audit or rate-limit handling.

    python peer_server.py --sandbox http://127.0.0.1:8900 [--transport http --port 8766]

Tokens come from PEER_REMOTE_TOKEN / PEER_REMOTEOPS_TOKEN.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "tool_manifests" / "openapi"


def build(sandbox: str, openapi_dir: Path):
    import httpx2
    from fastmcp import FastMCP
    from fastmcp.server.providers.openapi import OpenAPIProvider

    def client(mount: str, token: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=sandbox.rstrip("/") + mount, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    remote = json.loads((openapi_dir / "remote.json").read_text())
    remoteops = json.loads((openapi_dir / "remoteops.json").read_text())
    # from_openapi takes one document; the second joins as the same provider from_openapi builds,
    # which is what a user would do to put both back ends behind one server.
    server = FastMCP.from_openapi(
        remote, client=client("/remote", os.environ["PEER_REMOTE_TOKEN"]), name="openapi-peer"
    )
    server.add_provider(
        OpenAPIProvider(remoteops, client=client("/remoteops/v1", os.environ["PEER_REMOTEOPS_TOKEN"]))
    )
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox", required=True, help="sandbox root URL, e.g. http://127.0.0.1:8900")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--openapi-dir", type=Path, default=OPENAPI_DIR)
    args = parser.parse_args()
    os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")  # no network here, and no banner delay
    server = build(args.sandbox, args.openapi_dir)
    if args.transport == "stdio":
        server.run("stdio", show_banner=False)
    else:
        server.run("http", show_banner=False, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
