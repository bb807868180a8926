"""What the first tool call would otherwise load: some of it while the server starts, the rest in a
background thread once the server is idle.

The first call used to cost ~100-180 ms more than later ones. httpx and the upstream client's modules are
now imported while the server starts (``load_call_path``). Building each back end's HTTP
client, a TLS context reading the CA bundle and the embedded sandbox seeding its data wait for the
background: ``tools/list`` never needs them, so a server starts this after it has answered its first
``tools/list`` over stdio, or once it is listening over HTTP — a host lists tools and then waits for its
user, which is when this runs. A call that arrives first simply waits for the same work (the upstream
client is built once, behind a lock). Valid arguments need no jsonschema (``catalogue/quick_check.py``); it
is loaded by the first call that needs an error worded, not here, where it would compete with that call.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("ops_mcp.warmup")


def load_call_path() -> None:
    """Import httpx and the upstream client's modules while the server starts, before it answers anyone.

    Every tool call runs through them, so either start-up or the first call pays for them (httpx alone is
    ~8 ms of imports). Loaded in the background after the first ``tools/list`` they made a call arriving that
    instant wait ~15 ms more (the thread's imports, GIL hand-offs with the call itself, garbage collection
    back on): +20 ms over a later call, against a 20 ms target. Loaded here they cost 11-17 ms of start-up
    in-process (+6 ms in an interleaved spawn A/B, within its noise) and the first call is +5 ms; start-up
    stays well inside its own target after this change's other cuts (benchmarks/RESULTS.md figure 1).
    """
    from .upstream import client  # noqa: F401  (and httpx with it)


def warm_up(runtime: Any) -> None:
    runtime.upstream.warm()
    if any(t.connection.base_url.startswith("https:") for t in runtime.tenants.all()):
        from .upstream.network import verifying_tls

        verifying_tls()  # the CA bundle (~16 ms), read once per process; plain-http back ends never need it
    if runtime.sandbox_app is not None:  # the embedded sandbox seeds its data at first use: do it now
        from .sandbox.embedded import prepare_sandbox

        prepare_sandbox(runtime.sandbox_app)


def start_warm_up(runtime: Any) -> threading.Thread:
    """Called once the server is ready; also the moment start-up's objects are frozen (``startup_gc``)."""
    from . import startup_gc

    startup_gc.resume()
    thread = threading.Thread(target=_quietly, args=(runtime,), name="ops-mcp warm-up", daemon=True)
    thread.start()
    return thread


def _quietly(runtime: Any) -> None:
    try:
        warm_up(runtime)
    except Exception:  # the first call builds (and reports) it again
        log.debug("warm-up failed", exc_info=True)
