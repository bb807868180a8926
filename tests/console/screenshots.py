"""The README's console screenshots: ``python -m tests.console.screenshots [DIR]`` (``make console-screenshots``).

A runtime on the embedded sandbox in a temporary state dir, the example agents, one pending write, and
Chromium (Playwright, ``executable_path``) taking docs/console-matrix.png and docs/console-approvals.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from ops_mcp.config import load_settings
from ops_mcp.console.people import SqliteConsoleStore, create_account
from ops_mcp.runtime import build_runtime
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.http import create_app
from tests.support.loopback import serving
from tests.support.seed import requested_timeoff

from .conftest import CHROMIUM
from .support import in_thread, mcp_client, sign_in

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ops-mcp.toml"


def main(out: Path) -> int:
    with tempfile.TemporaryDirectory() as state:
        settings = load_settings(EXAMPLE)
        settings.storage.dir = Path(state)
        runtime = build_runtime(settings)
        password = create_account(SqliteConsoleStore(runtime.state_dir), "dana", "admin")
        approver = create_account(SqliteConsoleStore(runtime.state_dir), "alex", "approver")
        token = AgentTokenStore(runtime.state_dir).issue("people-ops")
        args, _ = requested_timeoff(runtime)

        def app_for(port: int) -> Any:
            return create_app(runtime, transports=("http",), host="127.0.0.1", port=port)

        with serving(make_app=app_for) as server:

            async def ask() -> Any:
                async with mcp_client(server.url, token) as client:
                    return await client.call_tool("remote_approve_timeoff", args)

            pending = in_thread(ask)
            _shoot(server.url, password, approver, pending.structured_content["approval_url"], out)
        anyio.run(runtime.aclose)
    print(f"wrote {out / 'console-matrix.png'} and {out / 'console-approvals.png'}")
    return 0


def _shoot(base: str, password: str, approver: str, approval_url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "dana", password, at="/admin/agents/people-ops")
        page.screenshot(path=str(out / "console-matrix.png"), full_page=False)
        sign_in(page, base, "alex", approver, at=approval_url.removeprefix(base))
        page.screenshot(path=str(out / "console-approvals.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")))
