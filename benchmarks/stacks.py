"""Reading py-spy's raw (collapsed) stacks into shares: by package, by ops-mcp module, by function,
by thread, and by "owner" (who a sample's work was done for).

One line per distinct stack: ``thread (TID): NAME;func (path:line);…;leaf (path:line) COUNT``, root
first. Pure functions over text, so the smoke test can check them on a fixed input. Cumulative
("on the stack") shares count only frames below the frame that dispatched the work (see below), so
the entry points every sample shares (``main``, ``run_forever``) do not crowd the tables.

Owner: walking from the leaf toward the root, the first frame that belongs to one of the named
parties below; frames of the standard library, anyio, pydantic and the like are plumbing and count
for whoever called them. The walk stops at the frame that dispatched the work (an event-loop
callback, a worker thread's loop): what started the loop, e.g. ops-mcp's ``run_stdio``, does not own
what the loop runs. A sample with no named frame below that point is event-loop or thread plumbing.
The SDK's own work is the samples owned by ``mcp``.

Waiting: py-spy leaves out idle threads, but with ``--nonblocking`` it does not catch every wait (a
loop in ``epoll``, a worker on its queue). Samples whose running frame is one of ``WAITS`` are counted
apart and left out of every share.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
_THREAD = re.compile(r"^thread \((?P<tid>[^)]*)\)(?::\s*(?P<name>.*))?$")

# Parties a sample's work can be owned by (package → label); order does not matter.
OWNERS = {
    "ops_mcp": "ops-mcp",
    "mcp": "mcp SDK",
    "mcp_types": "mcp SDK",
    "httpx": "httpx/httpcore (upstream client)",
    "httpcore": "httpx/httpcore (upstream client)",
    "httpx2": "httpx/httpcore (upstream client)",
    "uvicorn": "uvicorn/h11 (HTTP server)",
    "h11": "uvicorn/h11 (HTTP server)",
    "httptools": "uvicorn/h11 (HTTP server)",
    "starlette": "starlette (routing, middleware)",
    "sse_starlette": "SSE framing (sse-starlette)",
    "jsonschema": "jsonschema",
    "fastmcp": "fastmcp",
}


# Where a sample stops looking for an owner: the frame that hands work to a callback or a thread.
DISPATCH = {
    # uvloop runs its loop and callbacks in C: the last Python frame above a callback is asyncio's Runner.
    ("Runner.run", "stdlib:asyncio"),
    ("Handle._run", "stdlib:asyncio"),
    ("BaseEventLoop._run_once", "stdlib:asyncio"),
    ("WorkerThread.run", "anyio"),
    ("Thread.run", "stdlib:threading"),
    ("_WorkerContext.run", "stdlib:concurrent"),
    ("_worker", "stdlib:concurrent"),
}
# Running frames that are a thread waiting, not working.
WAITS = {
    ("EpollSelector.select", "stdlib:selectors"),
    ("PollSelector.select", "stdlib:selectors"),
    ("SelectSelector.select", "stdlib:selectors"),
    ("Condition.wait", "stdlib:threading"),
    ("Event.wait", "stdlib:threading"),
    ("Thread._wait_for_tstate_lock", "stdlib:threading"),
    ("Queue.get", "stdlib:queue"),
    ("WorkerThread.run", "anyio"),
    ("_worker", "stdlib:concurrent"),
}


@dataclass(frozen=True)
class Frame:
    func: str
    package: str  # "ops_mcp.audit.store", "httpx", "stdlib:asyncio", "?" …

    @property
    def owner(self) -> str | None:
        top = self.package.split(".", 1)[0]
        if top == "ops_mcp":
            return "ops-mcp: " + self.package
        return OWNERS.get(top)


@dataclass
class Profile:
    samples: int = 0  # busy samples: every share is of these
    waiting: int = 0  # samples of a thread waiting that py-spy did not leave out
    by_package_self: Counter = field(default_factory=Counter)
    by_package_cum: Counter = field(default_factory=Counter)
    by_function_self: Counter = field(default_factory=Counter)
    by_function_cum: Counter = field(default_factory=Counter)
    by_owner: Counter = field(default_factory=Counter)
    by_thread: Counter = field(default_factory=Counter)

    def share(self, count: int) -> float:
        return count / self.samples if self.samples else 0.0

    def owner_group(self, label: str) -> int:
        """Samples owned by a party (``"ops-mcp"`` sums every ops-mcp module)."""
        return sum(
            n for owner, n in self.by_owner.items() if owner == label or owner.startswith(label + ": ")
        )


def package_of(path: str) -> str:
    """A frame's package from its file path: a top-level package in site-packages, ``ops_mcp.<module>``,
    or ``stdlib:<module>``."""
    path = path.replace("\\", "/")
    if "/site-packages/" in path:
        rest = path.split("/site-packages/", 1)[1]
        top = rest.split("/", 1)[0]
        return top[:-3] if top.endswith(".py") else top
    if "/ops_mcp/" in path:
        rest = path.rsplit("/ops_mcp/", 1)[1]
        module = rest[:-3] if rest.endswith(".py") else rest
        module = module.removesuffix("/__init__")
        return "ops_mcp." + module.replace("/", ".")
    if path.startswith("<frozen ") or re.search(r"/lib/python3\.\d+/", path):
        rest = re.split(r"/lib/python3\.\d+/", path)[-1] if "/lib/python3" in path else path[8:-1]
        return "stdlib:" + rest.split("/", 1)[0].removesuffix(".py")
    if path.endswith("bin/ops-mcp"):
        return "ops_mcp.cli"
    return "?"


def parse_frame(text: str) -> Frame:
    match = _FRAME.match(text.strip())
    if not match:
        return Frame(text.strip(), "?")
    return Frame(match["func"], package_of(match["path"]))


def thread_label(first: str, frames: list[Frame]) -> str:
    """ "main" for the main thread, else the thread's name (py-spy's) or its entry function."""
    match = _THREAD.match(first)
    # py-spy prints a name it could not read as control bytes ("\x00"): those fall back to the entry.
    name = "".join(ch for ch in (match and match["name"]) or "" if ch.isprintable()).strip()
    if name == "MainThread":
        return "main thread (event loop)"
    if name:
        return f"thread: {name}"
    entry = next((f.func for f in frames if not f.package.startswith("stdlib:threading")), "?")
    return f"thread: {entry}"


def parse(lines: Iterable[str]) -> Profile:
    profile = Profile()
    for raw in lines:
        raw = raw.rstrip("\n")
        if not raw.strip():
            continue
        stack, _, count_text = raw.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        parts = stack.split(";")
        first = parts[0]
        if _THREAD.match(first):
            parts = parts[1:]
        else:
            first = ""
        frames = [parse_frame(p) for p in parts if p]
        if not frames:
            continue
        leaf = frames[-1]
        if (leaf.func, _group(leaf.package)) in WAITS or (leaf.func, leaf.package) in WAITS:
            profile.waiting += count
            continue
        profile.samples += count
        profile.by_package_self[_group(leaf.package)] += count
        profile.by_function_self[_name(leaf)] += count
        work = frames[_dispatched_at(frames) + 1 :]  # what started the loop or thread is not "on" the work
        for package in {_group(f.package) for f in work}:
            profile.by_package_cum[package] += count
        for name in {_name(f) for f in work}:
            profile.by_function_cum[name] += count
        profile.by_owner[owner_of(frames) or PLUMBING] += count
        profile.by_thread[thread_label(first, frames)] += count
    return profile


PLUMBING = "event loop / thread plumbing (asyncio, anyio, threading)"


def _is_dispatch(frame: Frame) -> bool:
    return (frame.func, _group(frame.package)) in DISPATCH or (frame.func, frame.package) in DISPATCH


def _dispatched_at(frames: list[Frame]) -> int:
    """Index of the innermost dispatching frame (-1 when there is none)."""
    return max((i for i, f in enumerate(frames) if _is_dispatch(f)), default=-1)


def owner_of(frames: list[Frame]) -> str | None:
    """The first named party from the running frame up to (not past) the frame that dispatched it."""
    for frame in reversed(frames):
        if _is_dispatch(frame):
            return None
        if frame.owner:
            return frame.owner
    return None


def _group(package: str) -> str:
    """Packages as the tables show them: ops-mcp by module, the rest by top-level package."""
    return package if package.startswith("ops_mcp") else package.split(".", 1)[0]


def _name(frame: Frame) -> str:
    return f"{frame.func} [{_group(frame.package)}]"


def top(counter: Counter, n: int) -> list[tuple[str, int]]:
    """The ``n`` largest entries."""
    return counter.most_common(n)
