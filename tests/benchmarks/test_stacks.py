"""The profile's arithmetic on a fixed set of py-spy raw stacks: packages, owners (stopping at the
frame that dispatched the work), waits left out, threads, and the PROFILE.md tables."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import profiling, stacks  # noqa: E402

SP = "/v/lib/python3.11/site-packages"
LIB = "/py/lib/python3.11"
LOOP = (
    "thread (1): MainThread;<module> (/v/bin/ops-mcp:1);run_stdio (/w/src/ops_mcp/server/stdio.py:24);"
    f"BaseEventLoop._run_once ({LIB}/asyncio/base_events.py:1845)"
)
TASK = LOOP + f";Handle._run ({LIB}/asyncio/events.py:78)"
RAW = [
    # The SDK's stdout writer handing a line to a worker thread: the SDK's work.
    f"{TASK};stdout_writer ({SP}/mcp/server/stdio.py:199);Queue.put ({LIB}/queue.py:122) 30",
    # ops-mcp's audit append inside a tool call, running in sqlite (stdlib) code: ops-mcp's.
    f"{TASK};handle ({SP}/mcp/server/lowlevel.py:10);call_tool (/w/src/ops_mcp/server/executor.py:5);"
    f"AuditStore.append (/w/src/ops_mcp/audit/store.py:9);Connection.execute ({LIB}/sqlite3/dbapi2.py:1) 20",
    # httpx under ops-mcp's upstream client: httpx's.
    f"{TASK};request_json (/w/src/ops_mcp/upstream/client.py:3);AsyncClient.send ({SP}/httpx/_client.py:1);"
    f"pool ({SP}/httpcore/_async/connection_pool.py:1) 25",
    # The loop dispatching, no named frame below Handle._run: plumbing, not run_stdio's.
    f"{TASK};Task.__step ({LIB}/asyncio/tasks.py:1) 10",
    f"{LOOP};BaseEventLoop._call_soon ({LIB}/asyncio/base_events.py:1) 5",
    # Waits py-spy did not catch: left out of every share.
    f"{LOOP};EpollSelector.select ({LIB}/selectors.py:468) 40",
    f"thread (2): AnyIO worker thread;WorkerThread.run ({SP}/anyio/_backends/_asyncio.py:1) 7",
    # Work in a worker thread: the thread is named, the owner is who ran there.
    f"thread (2): AnyIO worker thread;WorkerThread.run ({SP}/anyio/_backends/_asyncio.py:1);"
    f"readline ({SP}/anyio/_core/_fileio.py:127);TextIOWrapper.readline (<frozen codecs>:1) 10",
]


def test_owners_packages_and_waits():
    profile = stacks.parse(RAW)
    assert profile.samples == 100 and profile.waiting == 47
    assert profile.by_owner["mcp SDK"] == 30
    assert profile.by_owner["ops-mcp: ops_mcp.server.executor"] == 0  # the innermost named frame wins
    assert profile.by_owner["ops-mcp: ops_mcp.audit.store"] == 20
    assert profile.by_owner["httpx/httpcore (upstream client)"] == 25
    assert profile.by_owner[stacks.PLUMBING] == 25  # 10 + 5 on the loop, 10 anyio-only in the worker
    assert profile.owner_group("ops-mcp") == 20
    assert profile.by_package_self["stdlib:sqlite3"] == 20
    assert profile.by_package_cum["ops_mcp.server.stdio"] == 0  # it started the loop: above the work
    assert profile.by_package_cum["mcp"] == 50  # the stdout writer, and the handler over the audit append
    assert profile.by_package_cum["httpx"] == profile.by_package_cum["httpcore"] == 25
    assert profile.by_thread == {"main thread (event loop)": 90, "thread: AnyIO worker thread": 10}
    assert profile.by_function_self["Queue.put [stdlib:queue]"] == 30


def test_on_uvloop_the_loop_is_plumbing_and_callbacks_are_their_owners():
    """uvloop's loop is C: a callback's frames sit right below asyncio's Runner.run, and a sample whose
    running frame is Runner.run is the loop itself, not ``run_stdio``'s work."""
    runner = (
        "thread (1): MainThread;<module> (/v/bin/ops-mcp:1);run_stdio (/w/src/ops_mcp/transports/stdio.py:32);"
        f"run ({SP}/anyio/_core/_eventloop.py:83);Runner.run ({LIB}/asyncio/runners.py:118)"
    )
    profile = stacks.parse([
        f"{runner} 12",
        f"{runner};_Connection.data_received (/w/src/ops_mcp/upstream/http1.py:80) 8",
    ])
    assert profile.by_owner[stacks.PLUMBING] == 12
    assert profile.by_owner["ops-mcp: ops_mcp.upstream.http1"] == 8
    assert profile.by_owner.get("ops-mcp: ops_mcp.transports.stdio", 0) == 0


def test_package_of_paths():
    assert stacks.package_of(f"{SP}/httpcore/_async/http11.py") == "httpcore"
    assert stacks.package_of("/w/src/ops_mcp/audit/__init__.py") == "ops_mcp.audit"
    assert stacks.package_of(f"{LIB}/asyncio/events.py") == "stdlib:asyncio"
    assert stacks.package_of(f"{LIB}/json/encoder.py") == "stdlib:json"
    assert stacks.package_of("<frozen codecs>") == "stdlib:codecs"
    assert stacks.package_of("/somewhere/else.py") == "?"


def test_profile_tables_turn_shares_into_cpu_per_call():
    scenario = profiling.Scenario("ops-mcp", "stdio read call", calls=100, seconds=1.0, cpu_s=0.4)
    scenario.profile = stacks.parse(RAW)
    assert scenario.cpu_ms_per_call == 4.0
    assert scenario.ms(scenario.profile.by_owner["mcp SDK"]) == 1.2  # 30% of 4 ms
    table = "\n".join(profiling.summary_table([scenario]))
    assert "| ops-mcp (every module) | 20.0% (0.80 ms) |" in table
    assert "| mcp SDK | 30.0% (1.20 ms) |" in table
    assert "↳ ops_mcp.audit.store | 20.0% (0.80 ms)" in table
    text = "\n".join(profiling.detail(scenario))
    assert "The SDK's own work: 30.0% of the samples, ≈ 1.20 ms" in text
    assert "47 more of threads waiting" in text


def test_a_thread_name_py_spy_could_not_read_falls_back_to_its_entry():
    frames = [stacks.parse_frame("Thread.run (/usr/lib/python3.11/threading.py:982)"),
              stacks.parse_frame("ChainWriter._run (/x/ops_mcp/audit/writer.py:206)")]
    label = stacks.thread_label("thread (0x7f): \x00", frames)
    assert label == "thread: ChainWriter._run" and label.isprintable()
