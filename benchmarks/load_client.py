"""The HTTP load generator, run as its own process so it never shares the server's (or the parent's)
interpreter: ``python -m benchmarks.load_client`` with one JSON job on stdin.

It opens ``clients`` SDK ``Client`` sessions, makes one warm-up call on each, prints ``ready``, waits
for ``go`` on stdin, then loops the call on every session for ``seconds`` and prints one JSON line:
latencies and finish offsets of the calls that finished inside the window, errors, and its own CPU
time (so the load generator's cost can be read apart from the server's). Calls still running at the
end of the window are waited for (so no backlog spills into the next slice): they count towards
latency percentiles and CPU per call, not towards calls/s (``late``). The bearer token, if any,
comes in the job, never on the command line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import AsyncExitStack

from . import mcp_http


async def _run(job: dict) -> dict:
    era, tool, arguments = job["era"], job["tool"], job["arguments"]
    fresh_key = job.get("idempotency_argument")
    out: dict = {
        "latencies": [],
        "late_latencies": [],
        "finished_at": [],
        "late": 0,
        "errors": 0,
        "sample_error": "",
    }
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(mcp_http.session(job["url"], job.get("token"), era))
            for _ in range(job["clients"])
        ]
        for client in sessions:  # warm-up: connection pools, first-call caches
            await mcp_http.call(client, tool, _arguments(arguments, fresh_key))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu, start = time.process_time(), time.perf_counter()
        deadline = start + job["seconds"]

        async def agent(client) -> None:
            while time.perf_counter() < deadline:
                elapsed, result, error = await mcp_http.call(client, tool, _arguments(arguments, fresh_key))
                finished = time.perf_counter() - start
                if finished > job["seconds"]:
                    out["late"] += 1  # finished after the window: not a call of the slice's rate,
                    out["late_latencies"].append(elapsed)  # but its latency and CPU are real
                    break
                out["latencies"].append(elapsed)
                out["finished_at"].append(finished)
                if result is None or error:
                    out["errors"] += 1
                    out["sample_error"] = out["sample_error"] or error[:200]

        await asyncio.gather(*(agent(c) for c in sessions))
        out["cpu_s"] = time.process_time() - cpu
    return out


def _arguments(arguments: dict, fresh_key: str | None) -> dict:
    if not fresh_key:
        return arguments
    import uuid

    return {fresh_key: str(uuid.uuid4()), **arguments}


def main() -> int:
    job = json.loads(sys.stdin.readline())
    try:
        result = asyncio.run(_run(job))
    except Exception as exc:  # reported to the parent, which shows it in the figure
        result = {"failure": f"{type(exc).__name__}: {exc}"}
        print("ready", flush=True)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
