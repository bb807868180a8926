"""The console on PostgreSQL: accounts, sessions and saved access shared by every replica of one database.

Each replica here is a runtime with a state dir of its own (no shared disk), served on loopback, over one
migrated schema of this test's own; agents are real MCP clients.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops_mcp.config import Settings
from ops_mcp.console.people import CONSOLE_FILE, create_account, password_matches
from ops_mcp.console.web import COOKIE
from ops_mcp.policy_store import POLICIES_FILE, agent_table
from ops_mcp.runtime import Runtime, build_runtime
from ops_mcp.secretbox import KEY_ENV, new_key
from ops_mcp.storage.postgres.console import PostgresPolicyOverrides
from ops_mcp.storage.postgres.database import Database
from ops_mcp.storage.postgres.migrations import LATEST, MIGRATIONS, current_version, migrate
from ops_mcp.transports.http import create_app
from tests.console.support import HttpSession, ListChangedWatch, in_thread, tool_names
from tests.support.loopback import serving
from tests.support.runtime import ONE_TENANT, close
from tests.support.waiting import eventually_sync

# people-ops starts with Time off off: an admin turns it to Full on one replica.
AGENTS: dict[str, dict[str, Any]] = {
    "people-ops": {"areas": {"remote.employments": "read"}, "tool_mode": "static"},
}


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    return key


def replica(url: str, state_dir: Path, **extra: Any) -> Runtime:
    return build_runtime(settings_on(url, state_dir, **extra))


def settings_on(url: str, state_dir: Path, **extra: Any) -> Settings:
    return Settings(storage={"url": url, "dir": str(state_dir)}, backends=ONE_TENANT, agents=AGENTS, **extra)


def app_for(runtime: Runtime) -> Any:
    return lambda port: create_app(runtime, transports=("http",), host="127.0.0.1", port=port)


def timeoff_tools(runtime: Runtime) -> set[str]:
    return {e.tool for m in runtime.catalogue.values() for e in m.endpoints if e.area == "remote.timeoff"}


def test_console_accounts_and_sessions_are_shared_by_two_replicas(migrated_url, tmp_path):
    one, two = replica(migrated_url, tmp_path / "one"), replica(migrated_url, tmp_path / "two")
    try:
        password = create_account(one.store.console_store(), "dana", "admin")
        stored = two.store.console_store().account("dana")
        assert stored is not None and stored.password_hash.startswith("scrypt$")
        assert password not in stored.password_hash and password_matches(password, stored.password_hash)
        with serving(make_app=app_for(one)) as first, serving(make_app=app_for(two)) as second:
            dana = HttpSession(first.url, "dana", password)  # signed in on the first replica
            cookie = dana.http.cookies[COOKIE]
            with httpx.Client(base_url=second.url, cookies={COOKIE: cookie}, follow_redirects=False) as other:
                page = other.get("/admin/")
                assert page.status_code == 200 and "dana" in page.text  # the same session on the second
                # Removing the account (on either replica) ends its sessions everywhere.
                assert one.store.console_store().remove_account("dana")
                assert other.get("/admin/").status_code == 303
            assert dana.http.get("/admin/").status_code == 303
        # Nothing of it was kept on either replica's disk.
        assert not (tmp_path / "one" / CONSOLE_FILE).exists() and not (tmp_path / "two" / CONSOLE_FILE).exists()
    finally:
        close(one)
        close(two)


def edit_reaches_the_other_replica(
    one: Runtime, two: Runtime, *, ready: Callable[[], bool] = lambda: True, then_reset: bool = False,
    reset: Callable[[], bool] | None = None,
) -> None:
    """An admin on ``one`` gives people-ops Time off; its open session on ``two`` hears tools/list_changed
    and its tool list there, and a new session's, shows the Time off tools. ``ready`` holds once both
    replicas serve and listen for news. ``then_reset``: the edit is then dropped (``reset``; by default
    only in the database) and the session on ``two`` hears that its TOML access is back."""
    password = create_account(one.store.console_store(), "dana", "admin")
    token = one.store.agent_tokens().issue("people-ops")
    timeoff = timeoff_tools(one)
    with serving(make_app=app_for(one)) as first, serving(make_app=app_for(two)) as second:
        assert eventually_sync(ready), "the replicas never got ready"
        admin = HttpSession(first.url, "dana", password)
        with ListChangedWatch(second.url, token) as watch:
            assert not watch.before & timeoff
            saved = admin.post("/admin/agents/people-ops", {"level:remote.timeoff": "full"})
            assert saved.status_code == 303, saved.text
            watch.go()
        assert watch.after is not None and timeoff <= watch.after, watch.error
        assert timeoff <= in_thread(lambda: tool_names(second.url, token))
        saved_tables = two.store.policy_overrides().load()  # (serving's end closes the runtimes)
        assert saved_tables["people-ops"]["areas"]["remote.timeoff"] == "full"
        if then_reset:
            with ListChangedWatch(second.url, token) as watch:
                assert timeoff <= watch.before
                assert (reset or (lambda: one.store.policy_overrides().forget("people-ops")))()
                watch.go()
            assert watch.after is not None and not watch.after & timeoff, watch.error
            assert two.policies["people-ops"].level("remote.timeoff") == "off"  # the TOML's again
    assert not (one.state_dir / POLICIES_FILE).exists() and not (two.state_dir / POLICIES_FILE).exists()


def test_access_saved_or_reset_on_one_replica_reaches_the_agent_on_another_through_the_database(migrated_url, tmp_path):
    """No Redis: the other replica finds the new version row when it polls (about once a second), and
    finds the edit gone after a reset."""
    one, two = replica(migrated_url, tmp_path / "one"), replica(migrated_url, tmp_path / "two")
    try:
        edit_reaches_the_other_replica(one, two, then_reset=True)
    finally:
        close(one)
        close(two)


@contextmanager
def redis_replicas(migrated_url: str, redis_target: tuple[str, str], tmp_path: Path,
                   *names: str) -> Iterator[tuple[list[Runtime], Callable[[], bool]]]:
    """Runtimes named ``names`` on one database and one Redis, the database polled only every hour (so only a
    Redis message can tell a replica of a change), and "two replicas listen for news"."""
    import redis

    url, prefix = redis_target
    extra: dict[str, Any] = {
        "coordination": {"redis_url": url, "key_prefix": prefix},
        "server": {"limits": {"revocation_poll_seconds": 3600.0}},
    }
    runtimes = [replica(migrated_url, tmp_path / name, **extra) for name in names]
    client = redis.Redis.from_url(url)
    channel = f"{prefix}:events"

    def both_listen() -> bool:
        # A message published before a replica subscribes never reaches it.
        return int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)) >= 2

    try:
        yield runtimes, both_listen
    finally:
        client.close()
        for runtime in runtimes:
            close(runtime)


def test_with_redis_a_saved_edit_is_fanned_out_at_once(migrated_url, redis_target, tmp_path):
    with redis_replicas(migrated_url, redis_target, tmp_path, "one", "two") as ((one, two), both_listen):
        edit_reaches_the_other_replica(one, two, ready=both_listen)


def test_with_redis_policy_reset_is_fanned_out_at_once(migrated_url, redis_target, tmp_path):
    """What ``ops-mcp policy reset`` does, from a process of its own (a runtime that serves nothing): only its
    Redis message can tell the replicas that the TOML access applies again."""
    from ops_mcp.cli.policy import reset_access

    with redis_replicas(migrated_url, redis_target, tmp_path, "one", "two", "cli") as ((one, two, cli), ready):
        edit_reaches_the_other_replica(
            one, two, ready=ready, then_reset=True,
            reset=lambda: reset_access(cli, cli.store.policy_overrides(), "people-ops"),
        )
        assert not reset_access(cli, cli.store.policy_overrides(), "people-ops")  # nothing left to drop


def test_saved_access_is_polled_with_one_small_query_at_most_once_per_interval(migrated_url):
    db = Database(migrated_url, pool_size=2)
    now = [100.0]
    try:
        here = PostgresPolicyOverrides(db)
        there = PostgresPolicyOverrides(db, min_interval=1.0, clock=lambda: now[0])
        before = there.stamp()
        here.save("people-ops", {"areas": {"remote.timeoff": "full"}}, by="dana")
        assert here.stamp() != before  # the writer knows at once
        assert there.stamp() == before  # the reader asked less than a second ago: no query
        now[0] += 1.0
        assert there.stamp() != before
        assert there.load() == {"people-ops": {"areas": {"remote.timeoff": "full"}}}
        assert here.forget("people-ops") and not here.forget("people-ops")
        assert here.load() == {}
        last = there.stamp()
        now[0] += 1.0
        db.close()  # the database gone: the last version read stands (the policies in force stay)
        assert there.stamp() == last
    finally:
        db.close()


def cli(args: list[str], config: Path, url: str, key: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"OPS_MCP_STORAGE_URL": url, KEY_ENV: key, "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "ops_mcp.cli", *args, "--config", str(config)],
        env=env, capture_output=True, text=True, cwd=cwd, timeout=120,
    )


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "ops-mcp.toml"
    path.write_text(
        f'[storage]\ndir = "{tmp_path / "state"}"\n\n'
        '[backends.remote.connections.acme]\nlabel = "Acme GmbH"\n\n'
        '[backends.remoteops.connections.northwind]\nlabel = "Northwind Elevators"\n\n'
        '[agents.people-ops]\nareas = { "remote.employments" = "read" }\ntool_mode = "static"\n'
    )
    return path


def test_policy_export_reset_admins_and_agents_commands_use_postgres(migrated_url, tmp_path, secret_key):
    config = config_file(tmp_path)
    runtime = replica(migrated_url, tmp_path / "writer")
    try:
        table = agent_table(runtime.policies["people-ops"])
        table["areas"] = {**table["areas"], "remote.timeoff": "full"}
        overrides = runtime.store.policy_overrides()
        overrides.save("people-ops", table, by="dana")
        overrides.save("payroll-bot", {"areas": {"remote.payroll": "read"}}, by="dana")  # made in the console
    finally:
        close(runtime)

    exported = cli(["policy", "export"], config, migrated_url, secret_key, tmp_path)
    assert exported.returncode == 0, exported.stderr
    agents = tomllib.loads(exported.stdout)["agents"]
    assert agents["people-ops"]["areas"]["remote.timeoff"] == "full"  # the saved edit wins over the TOML
    assert agents["payroll-bot"]["areas"] == {"remote.payroll": "read"}

    listed = cli(["agents", "list"], config, migrated_url, secret_key, tmp_path)
    assert listed.returncode == 0 and "payroll-bot" in listed.stdout, listed.stderr

    added = cli(["admins", "add", "ada", "--role", "auditor"], config, migrated_url, secret_key, tmp_path)
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip()
    reset = cli(["policy", "reset", "people-ops"], config, migrated_url, secret_key, tmp_path)
    assert reset.returncode == 0, reset.stderr
    again = cli(["policy", "export"], config, migrated_url, secret_key, tmp_path)
    assert "remote.timeoff" not in tomllib.loads(again.stdout)["agents"]["people-ops"]["areas"]  # the TOML again

    db = Database(migrated_url, pool_size=1)
    try:
        stored = db.execute("SELECT password_hash FROM console_accounts WHERE name = 'ada'").fetchone()
        assert stored is not None and password_matches(password, stored[0]) and password not in stored[0]
    finally:
        db.close()
    assert not (tmp_path / "state" / CONSOLE_FILE).exists() and not (tmp_path / "state" / POLICIES_FILE).exists()


def test_a_database_at_the_previous_schema_is_migrated_and_keeps_its_data(pg_url, tmp_path, monkeypatch):
    from ops_mcp.storage.postgres import migrations

    db = Database(pg_url, pool_size=1)
    try:
        with monkeypatch.context() as previous:  # what the previous ops-mcp made
            previous.setattr(migrations, "MIGRATIONS", MIGRATIONS[:-1])
            previous.setattr(migrations, "LATEST", MIGRATIONS[-2].version)
            migrate(db)
        db.execute(
            "INSERT INTO agent_tokens (agent, salt, digest, created_at, hint) VALUES ('people-ops', 's', 'd', "
            "'2026-01-01T00:00:00Z', 'omcp_x')"
        )
        assert current_version(db) == LATEST - 1
    finally:
        db.close()
    env = {"OPS_MCP_STORAGE_URL": pg_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    applied = subprocess.run([sys.executable, "-m", "ops_mcp.cli", "migrate"], env=env, capture_output=True,
                             text=True, cwd=tmp_path, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert f"schema: version {LATEST}" in applied.stdout and f"applied {LATEST}: console" in applied.stdout
    runtime = replica(pg_url, tmp_path / "state")
    try:
        assert "people-ops" in runtime.store.agent_tokens().tokens()  # kept across the migration
        create_account(runtime.store.console_store(), "dana", "admin")
        assert [a.name for a in runtime.store.console_store().accounts()] == ["dana"]
        assert runtime.store.policy_overrides().load() == {}
    finally:
        close(runtime)
