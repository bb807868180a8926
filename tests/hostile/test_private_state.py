"""State is private (issue 12, item 17): the state dir is 0700 and every file in it 0600 — databases and their
WAL/SHM files, tokens, secrets, keys — under a permissive umask, and also when an older version or another
tool left the directory open: it is tightened, and the operator is told once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest

from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets
from ops_mcp.runtime import build_runtime
from tests.server_http._support import connected, issue_token, serve
from tests.server_http.test_webhooks_receiver import REMOTE_KEY, remote_headers

pytestmark = pytest.mark.anyio


@pytest.fixture
def permissive_umask():
    previous = os.umask(0o022)  # what most shells have: files 0644, directories 0755
    try:
        yield
    finally:
        os.umask(previous)


def _modes(state_dir: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in [state_dir, *state_dir.iterdir()]}


async def test_every_state_file_is_created_private(hostile_config, permissive_umask):
    config = hostile_config()
    state_dir = load_settings(config).state_dir()
    hr = issue_token(config, "hr")
    WebhookSecrets(state_dir).put("remote", "acme", REMOTE_KEY, remote_id="cb_1", url="http://127.0.0.1/x")
    with serve(config) as served:
        async with connected(served.base, hr) as client:
            assert not (await client.call_tool("remote_list_timeoff", {})).is_error
        body = b'{"event_type":"timeoff.requested","company_id":"c1","timeoff_id":"t1"}'
        assert httpx.post(served.base + "/webhooks/remote", content=body,
                          headers=remote_headers(REMOTE_KEY, body)).status_code == 200
        served.state.runtime.approvals.list()  # the approvals database is opened on first use
        modes = _modes(state_dir)  # while every database is open: the -wal and -shm files exist

    expected = {"agent_tokens.json", "webhook_secrets.json", "confirm.key", "audit.sqlite3", "events.sqlite3",
                "approvals.sqlite3", "events.sqlite3-wal", "events.sqlite3-shm", "audit.sqlite3-wal"}
    assert expected <= set(modes), sorted(modes)
    assert modes[state_dir.name] == 0o700
    loose = {name: oct(mode) for name, mode in modes.items() if name != state_dir.name and mode != 0o600}
    assert loose == {}


def test_a_state_dir_left_open_is_tightened_and_the_operator_told_once(hostile_config, permissive_umask, caplog):
    config = hostile_config()
    settings = load_settings(config)
    state_dir = settings.state_dir()
    state_dir.mkdir(parents=True)
    os.chmod(state_dir, 0o755)
    # What an older version left behind: files created with the process umask (0644).
    old = sqlite3.connect(state_dir / "cache.sqlite3")
    old.execute("CREATE TABLE t (x INTEGER)")
    old.close()
    (state_dir / "agent_tokens.json").write_text('{"format": 1, "agents": {}}')
    (state_dir / "notes.txt").write_text("left by an operator")
    for path in state_dir.iterdir():
        os.chmod(path, 0o644)
    caplog.set_level(logging.WARNING, logger="ops_mcp.state")

    for _ in range(2):  # a second start finds nothing to fix and says nothing
        build_runtime(settings).audit.close()
    modes = _modes(state_dir)
    told = [r.getMessage() for r in caplog.records if r.name == "ops_mcp.state"]

    assert modes[state_dir.name] == 0o700
    assert {name: oct(m) for name, m in modes.items() if name != state_dir.name and m != 0o600} == {}
    assert len(told) == 1 and "tightened" in told[0] and "notes.txt" in told[0]
