"""The console served on loopback over a runtime on the embedded sandbox, its people, and a real browser.

The browser is Debian's Chromium driven by Playwright (``executable_path``; the Playwright download is not
used). Without Chromium the browser tests are skipped with one line saying how to run them, unless
``OPS_MCP_REQUIRE_BROWSER=1`` (CI), which makes a missing browser a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ops_mcp.console.people import SqliteConsoleStore, create_account
from ops_mcp.runtime import Runtime, build_runtime
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.http import create_app
from tests.support.loopback import serving
from tests.support.runtime import close, settings_for

CHROMIUM = os.environ.get("OPS_MCP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HOW_TO_RUN = (
    "Chromium not found: the console's browser tests are skipped. To run them: "
    "apt-get install -y chromium && pytest tests/console (OPS_MCP_REQUIRE_BROWSER=1 makes this a failure)"
)

# people-ops starts with Time off off: a test turns it to Full and watches its tool list change.
AGENTS: dict[str, dict[str, Any]] = {
    "people-ops": {"areas": {"remote.employments": "read"}, "tool_mode": "static"},
    "hr-desk": {"areas": {"remote.*": "full"}, "confirm": ["remote.timeoff"], "tool_mode": "static"},
}
PEOPLE = {"dana": "admin", "alex": "approver", "ada": "auditor"}


@dataclass
class Served:
    url: str
    runtime: Runtime
    passwords: dict[str, str]
    tokens: dict[str, str]
    app: Any = None  # the Starlette app served (its services: app.state.ops; the console: console_of(app))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    runtime = build_runtime(settings_for(tmp_path / "state", AGENTS))
    store = SqliteConsoleStore(runtime.state_dir)
    passwords = {name: create_account(store, name, role) for name, role in PEOPLE.items()}
    store.close()
    tokens = {name: AgentTokenStore(runtime.state_dir).issue(name) for name in AGENTS}

    built: list[Any] = []

    def app_for(port: int) -> Any:
        built.append(create_app(runtime, transports=("http",), host="127.0.0.1", port=port))
        return built[-1]

    try:
        with serving(make_app=app_for) as server:
            yield Served(server.url, runtime, passwords, tokens, built[-1])
    finally:
        close(runtime)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    required = os.environ.get("OPS_MCP_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail(
                "OPS_MCP_REQUIRE_BROWSER=1 but playwright is not installed (pip install -e '.[test]')"
            )
        pytest.skip("playwright is not installed: pip install -e '.[test]', then pytest tests/console")
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(
                f"OPS_MCP_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM} (apt-get install chromium)"
            )
        pytest.skip(HOW_TO_RUN)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(30_000)  # a bound on a loaded machine, not an expectation
    try:
        yield context.new_page()
    finally:
        context.close()


def console_of(app: Any) -> Any:
    """The ``Console`` behind an app's ``/admin`` mount (its web helpers, throttle, route table)."""
    from starlette.routing import Mount

    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/admin":
            return route.app.state.console
    raise AssertionError("no /admin mount")
