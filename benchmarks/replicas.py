"""Figures 2d and 7: the audit append in PostgreSQL, and throughput with 1, 2 and 3 replicas sharing
PostgreSQL and Redis. Runnable alone: ``python -m benchmarks.replicas [--quick]``.

Both need the services (``$OPS_MCP_TEST_POSTGRES_URL``, default postgresql://postgres@127.0.0.1:5432/test;
``$OPS_MCP_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0); without them the figures say so instead of a
number. Each run works in a schema and a Redis key prefix of its own, dropped afterwards.

2d appends the same records as 2c, one transaction each (the head row locked, the row inserted, the head
moved), so the two read side by side: the price of a chain that several replicas share. 7 starts ``n``
``ops-mcp serve --transport http`` processes in front of one sandbox process (limits raised), spreads
``4 × n`` agent sessions over them and counts the calls answered in ``seconds``. On this 2-core machine
the replicas, the sandbox, PostgreSQL, Redis and the load generator share the cores: more replicas
cannot add cores, and the figure is reported as it is.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

from . import audit_append, mcp_http, ops_internals
from .configs import FULL_AGENT, WORK, bench_toml
from .report import Row, Section
from .sandbox_proc import Sandbox
from .servers import ops_http
from .stats import Spread

POSTGRES_URL = os.environ.get("OPS_MCP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("OPS_MCP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOOL, ARGUMENTS = "remote_list_timeoff", {"page_size": 5}
SESSIONS_PER_REPLICA = 4


@contextmanager
def schema() -> Iterator[str]:
    """A migrated schema of its own (dropped afterwards); RuntimeError when PostgreSQL is unreachable."""
    import psycopg

    from ops_mcp.storage.postgres.database import Database
    from ops_mcp.storage.postgres.migrations import migrate

    name = f"opsmcp_bench_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        raise RuntimeError(
            f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).splitlines()[0]}"
        ) from None
    with admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
        url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options={quote(f'-csearch_path={name}')}"
        try:
            db = Database(url, pool_size=1)
            try:
                migrate(db)
            finally:
                db.close()
            yield url
        finally:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


# -- 2d: the audit append in PostgreSQL --------------------------------------------------------------------


def measure_append(runs: int, count: int) -> tuple[list[float], str]:
    from ops_mcp.audit import AuditRecord, redact
    from ops_mcp.storage.postgres.audit import PostgresAuditStore
    from ops_mcp.storage.postgres.database import Database

    means, verified = [], "not run"
    for _ in range(runs):
        with schema() as url:
            db = Database(url, pool_size=2)
            try:
                store = PostgresAuditStore(db)
                records = audit_append._records(AuditRecord, redact, audit_append.WARMUP + count)
                for record in records[: audit_append.WARMUP]:
                    store.append(record)
                began = time.perf_counter()
                for record in records[audit_append.WARMUP :]:
                    store.append(record)
                means.append((time.perf_counter() - began) / count * 1000)
                result = store.verify()
                verified = "the chain verifies" if result.ok else f"verification FAILED: {result}"
            finally:
                db.close()
    return means, verified


def append_section(means: list[float], verified: str, count: int, problem: str = "") -> Section:
    shown = Spread.of(means).show("{:.3f}", " ms") if means else f"not measured ({problem})"
    row = Row(
        "2d audit append, PostgreSQL",
        "mean per append: one transaction, head row locked (FOR UPDATE)",
        shown,
        "peer: keeps no audit log",
        "–",
        "compare with 2c (SQLite)",
    )
    notes = [
        f"{len(means)} run(s) of {count:,} appends to a fresh schema after {audit_append.WARMUP} warm-up "
        f"appends, in this process, over loopback TCP to {POSTGRES_URL.split('@')[-1]}. {verified}."
    ]
    return Section("2d. Audit append in PostgreSQL", [row], notes=notes)


# -- 7: throughput with 1, 2 and 3 replicas ------------------------------------------------------------------


def _config(directory: Path, sandbox_url: str, prefix: str) -> Path:
    text = bench_toml(sandbox_url, directory / "state")
    text += f'\n[coordination]\nkey_prefix = "{prefix}"\n'
    path = directory / "ops-mcp.toml"
    path.write_text(text)
    return path


def _issue(config: Path, env: dict[str, str]) -> str:
    """The agent's token, issued in the shared database (the environment is this figure's only meanwhile:
    the figures after it must not inherit its URLs)."""
    from ops_mcp.storage import open_state

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        state = open_state(ops_internals.load_settings(config))
        try:
            return state.agent_tokens().issue(FULL_AGENT)
        finally:
            state.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def _load(urls: list[str], token: str, seconds: float) -> tuple[int, int]:
    """(calls answered, errors) in ``seconds`` over ``SESSIONS_PER_REPLICA`` sessions per replica (``urls``: the
    replicas' ``/mcp`` endpoints)."""
    counts = {"done": 0, "errors": 0}
    samples: list[str] = []
    async with AsyncExitStack() as stack:  # sessions close after every task below has finished
        sessions = [
            await stack.enter_async_context(mcp_http.session(url, token))
            for url in urls
            for _ in range(SESSIONS_PER_REPLICA)
        ]
        for client in sessions:
            await mcp_http.call(client, TOOL, ARGUMENTS)  # warm-up
        deadline = time.perf_counter() + seconds
        async with asyncio.TaskGroup() as tasks:
            for client in sessions:
                tasks.create_task(_loop(client, deadline, counts, samples))
    if samples:
        print(f"first error: {samples[0]}", file=sys.stderr)
    return counts["done"], counts["errors"]


async def _loop(client, deadline: float, counts: dict[str, int], samples: list[str]) -> None:  # type: ignore[no-untyped-def]
    while time.perf_counter() < deadline:
        _, result, error = await mcp_http.call(client, TOOL, ARGUMENTS)
        if result is not None and not error:
            counts["done"] += 1
            continue
        counts["errors"] += 1
        samples.append(error[:300])
        if result is None:
            return  # the session is broken: counting its failures at full speed says nothing


def measure_throughput(levels: tuple[int, ...], seconds: float) -> dict[int, tuple[float, int]]:
    """replicas → (calls/s, errors)."""
    from ops_mcp.secretbox import KEY_ENV, new_key

    found: dict[int, tuple[float, int]] = {}
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ops-mcp-bench-replicas-") as scratch, schema() as url:
        directory = Path(scratch)
        prefix = f"opsmcp-bench-{secrets.token_hex(4)}"
        sandbox_config = directory / "sandbox.toml"
        sandbox_config.write_text(bench_toml("http://127.0.0.1:1", directory / "sandbox-state"))
        with Sandbox(sandbox_config, name="replicas-sandbox") as sandbox:
            config = _config(directory, sandbox.url, prefix)
            env = {
                **os.environ,
                KEY_ENV: new_key(),
                "OPS_MCP_STORAGE_URL": url,
                "OPS_MCP_REDIS_URL": REDIS_URL,
            }
            token = _issue(config, env)
            for n in levels:
                with ExitStack() as replicas:
                    urls = [
                        replicas.enter_context(ops_http(config, env=env, name=f"replica-{n}-{i}")).url
                        for i in range(n)
                    ]
                    calls, errors = asyncio.run(_load(urls, token, seconds))
                    found[n] = (calls / seconds, errors)
    _drop_keys(prefix)
    return found


def _drop_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def throughput_section(found: dict[int, tuple[float, int]], seconds: float, problem: str = "") -> Section:
    rows = []
    base = found.get(1, (0.0, 0))[0]
    for n, (rate, errors) in sorted(found.items()):
        ratio = f"{rate / base:.2f}× one replica" if base else "–"
        rows.append(
            Row(
                f"7 replicas: {n}",
                f"calls/s ({TOOL}), {SESSIONS_PER_REPLICA * n} sessions, {errors} error(s)",
                f"{rate:.1f}",
                "peer: one process",
                ratio,
                "",
            )
        )
    if not rows:
        rows.append(Row("7 replicas", "calls/s with 1, 2, 3 replicas", f"not measured ({problem})", "–"))
    notes = [
        f"{seconds:.0f} s of calls per level, after one warm-up call per session; replicas share PostgreSQL "
        "(audit chain, tokens) and Redis (the budget window, raised here so it never binds). On 2 cores "
        "every process competes for the same CPU: the figure shows the cost of coordination, not scaling."
    ]
    return Section("7. Throughput with several replicas", rows, notes=notes)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    means, check = measure_append(1, 300 if quick else 2000)
    print(append_section(means, check, 300 if quick else 2000).rows[0].ours, check)
    for n, (rate, errors) in measure_throughput((1, 2, 3), 3.0 if quick else 10.0).items():
        print(f"{n} replica(s): {rate:.1f} calls/s, {errors} errors")
