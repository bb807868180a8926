"""A third back end is data: a manifest plus an emulator, and no change to ops-mcp's code.

The toy back end (``toy.json`` + ``emulator.py``, both in this folder) has its own pagination field names,
error shape, request-id header and token prefixes. ops-mcp serves it, lists and calls its tools, pages its
lists and audits every call, exactly as for Remote and RemoteOps.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from ops_mcp.config import load_settings
from ops_mcp.runtime import build_runtime
from tests.support.loopback import serve_app
from tests.toy.emulator import TOKEN, create_app

pytestmark = pytest.mark.anyio
HERE = Path(__file__).parent
ERAS = ["legacy", "2026-07-28"]


@pytest.fixture
def toy_backend():
    """A fresh emulator per test: each starts from the same 23 widgets."""
    app = create_app()
    with serve_app(app) as url:
        yield url, app


def _runtime(tmp_path: Path, url: str, areas: str = '"toy.widgets" = "full"'):
    config = tmp_path / "ops-mcp.toml"
    config.write_text(f"""
[storage]
dir = "state"
[catalogue]
manifests = ["{HERE / 'toy.json'}"]
[backends.toy]
base_url = "{url}"
token = "{TOKEN}"
label = "Toy Co"
[agents.builder]
areas = {{ {areas} }}
tool_mode = "static"
""")
    return build_runtime(load_settings(config))


@pytest.mark.parametrize("mode", ERAS)
async def test_a_third_backend_is_listed_called_paged_and_audited(toy_backend, tmp_path, mode):
    url, app = toy_backend
    runtime = _runtime(tmp_path, url)
    server = runtime.mcp_server(resolve_agent=lambda: "builder", transport="stdio")
    try:
        async with Client(server, mode=mode) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"toy_list_widgets", "toy_get_widget", "toy_create_widget"} <= names
            assert not any(name.startswith("remote") for name in names)

            one = await client.call_tool("toy_get_widget", {"widget_id": "wid_002"})
            assert not one.is_error and one.structured_content == {"id": "wid_002", "name": "Widget 2",
                                                                   "colour": "red"}
            # max_items walks the toy's own page fields (pageNumber / pages / count) across pages of 5.
            walked = await client.call_tool("toy_list_widgets", {"perPage": 5, "max_items": 12})
            assert not walked.is_error
            assert [w["id"] for w in walked.structured_content["items"]] == [f"wid_{n:03d}" for n in range(1, 13)]
            assert walked.structured_content["count"] == 23

            created = await client.call_tool("toy_create_widget", {"name": "Sprocket", "colour": "red"})
            assert not created.is_error and created.structured_content["name"] == "Sprocket"

            missing = await client.call_tool("toy_get_widget", {"widget_id": "wid_999"})
            assert missing.is_error and "wid_999" in missing.content[0].text
        records = [entry.record for entry in runtime.audit.tail(10)]
        assert runtime.audit.verify().ok
    finally:
        await runtime.aclose()

    pages = [path for method, path in app.state.requests if method == "GET" and path == "/widgets"]
    assert len(pages) >= 3  # 12 items at 5 a page
    by_tool = {r.tool: r for r in records}
    assert by_tool["toy_create_widget"].decision == "allowed"
    assert by_tool["toy_create_widget"].backend_title == "Toy Widgets"
    assert by_tool["toy_create_widget"].tenant_label == "Toy Co"
    assert "Toy Widgets (Toy Co)" in by_tool["toy_create_widget"].sentence
    assert by_tool["toy_get_widget"].decision == "failed" and by_tool["toy_get_widget"].http_status == 404


async def test_the_policy_governs_a_third_backend_like_any_other(toy_backend, tmp_path):
    url, app = toy_backend
    runtime = _runtime(tmp_path, url, areas='"toy.widgets" = "read"')
    server = runtime.mcp_server(resolve_agent=lambda: "builder", transport="stdio")
    before = len(app.state.requests)
    try:
        async with Client(server) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == {"toy_list_widgets", "toy_get_widget"}
            refused = await client.call_tool("toy_create_widget", {"name": "Nope"})
            assert refused.is_error and refused.content[0].text == "Unknown tool: toy_create_widget"
        assert runtime.audit.tail(1)[0].record.decision == "denied"
    finally:
        await runtime.aclose()
    assert len(app.state.requests) == before  # refused calls never reach the back end


def test_an_extra_manifest_cannot_replace_a_shipped_backend(tmp_path):
    from ops_mcp.config import ConfigError

    fake = tmp_path / "remote.json"
    fake.write_text((HERE / "toy.json").read_text().replace('"name": "toy"', '"name": "remote"')
                    .replace('"toy_', '"remote_').replace('"toy.widgets"', '"remote.widgets"'))
    config = tmp_path / "ops-mcp.toml"
    config.write_text(f'[catalogue]\nmanifests = ["{fake}"]\n')
    with pytest.raises(ConfigError, match="already in the catalogue"):
        build_runtime(load_settings(config))
