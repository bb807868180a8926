"""stdin and stdout served on the event loop itself: no thread hop per message.

The SDK's ``stdio_server`` reads each line in a worker thread and writes and flushes each reply in two
more (``anyio.wrap_file``): three thread round trips per call, each waking the event loop through its
self-pipe — ~30% of a stdio call's samples in benchmarks/PROFILE.md. When stdin and stdout are pipes,
sockets or terminals, this reads and writes them with asyncio's pipe transports instead: a line is read
when the loop's selector says it is there, a reply is written straight to the descriptor (and only
waits when the reader is slow). A regular file redirected to stdin is read in a worker thread, a chunk
at a time, and so are terminals and ``/dev/null`` on uvloop (libuv's pipe transport aborts on a
character device; stdout is then written in a worker thread too). Anything else (stdout redirected to a
regular file, Windows, a stream that is not the process's own) keeps the SDK's transport.

When stdin ends, the requests already read are answered before the session closes (within
``EOF_GRACE_S``): a host that closes stdin, or a file of requests, does not cut off calls in flight.

The SDK's protection stays: fd 0 reads the null device and fd 1 points at stderr while serving (a stray
``print`` misses the wire), using the SDK's own claim; both are restored on exit, and so are the
descriptors' blocking flags (asyncio makes them non-blocking, and a terminal is shared with the shell).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import anyio
import mcp_types as types
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

log = logging.getLogger("ops_mcp.stdio")

READ_CHUNK = 1 << 16
# A line longer than this is answered as unreadable and skipped, rather than held in memory.
MAX_LINE_BYTES = 64 << 20


# After stdin ends, how long the requests already read may take to be answered before the server stops.
EOF_GRACE_S = 30.0


def _streamable(mode: int) -> bool:
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def pipes_usable() -> bool:
    """Whether fd 0 is a pipe, socket, terminal or regular file and fd 1 a descriptor asyncio's pipe
    transports accept (not a regular file)."""
    if sys.platform == "win32":
        return False
    try:
        if sys.stdin.buffer.fileno() != 0 or sys.stdout.buffer.fileno() != 1:
            return False  # replaced streams (a test harness): not ours to claim
        stdin_mode, stdout_mode = os.fstat(0).st_mode, os.fstat(1).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return (_streamable(stdin_mode) or stat.S_ISREG(stdin_mode)) and _streamable(stdout_mode)


def _in_a_thread(fd: int, loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``fd`` is read or written in a worker thread rather than through the loop's pipe transports:
    a regular file (asyncio has no transport for one), and on uvloop a character device (a terminal,
    ``/dev/null``), on which libuv's pipe transport aborts the process."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISREG(mode) or (stat.S_ISCHR(mode) and type(loop).__module__.startswith("uvloop"))


@contextlib.asynccontextmanager
async def pipe_stdio(after_listing: Callable[[], object] | None = None) -> AsyncIterator[tuple[Any, Any]]:
    """Like ``mcp.server.stdio.stdio_server()``: (read stream, write stream) of ``SessionMessage``.

    ``after_listing`` is called once, right after the answer to the first ``tools/list`` is written."""
    from mcp.server import stdio as sdk_stdio

    stdin, release_stdin = sdk_stdio._claim_fd(0, sys.stdin, "rb", sdk_stdio._open_stdin_diversion)
    stdout, release_stdout = sdk_stdio._claim_fd(1, sys.stdout, "wb", sdk_stdio._open_stdout_diversion)
    flags = {f: os.get_blocking(f) for f in {stdin.fileno(), stdout.fileno()}}
    loop = asyncio.get_running_loop()
    read_transport: asyncio.BaseTransport | None = None
    write_transport: asyncio.WriteTransport | None = None
    try:
        reader: _Readable
        if _in_a_thread(stdin.fileno(), loop):
            os.set_blocking(stdin.fileno(), True)
            reader = _ThreadReader(stdin.fileno())
        else:
            reader = asyncio.StreamReader(limit=READ_CHUNK * 2, loop=loop)
            read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        writer: _Writable
        if _in_a_thread(stdout.fileno(), loop):
            os.set_blocking(stdout.fileno(), True)
            writer = _ThreadWriter(stdout.fileno())
        else:
            drain = _Drain()
            write_transport, _ = await loop.connect_write_pipe(lambda: drain, stdout)
            writer = _PipeWriter(write_transport, drain)
        read_stream_writer, read_stream = create_context_streams[SessionMessage | Exception](0)
        write_stream, write_stream_reader = create_context_streams[SessionMessage](0)
        listing = _FirstListing(after_listing)
        answers = _Outstanding()

        async def stdin_reader() -> None:
            async with read_stream_writer:
                async for line in _lines(reader):
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(
                            line.decode("utf-8", errors="replace"), by_name=False
                        )
                    except Exception as exc:  # the SDK's reader hands the session the error too
                        await read_stream_writer.send(exc)
                        continue
                    listing.read(message)
                    answers.read(message)
                    await read_stream_writer.send(SessionMessage(message))
                # stdin has ended (the host is done, or a file of requests is read to its end): the requests
                # already read are answered before the session closes, instead of being cut off.
                with anyio.move_on_after(EOF_GRACE_S):
                    await answers.settled()

        async def stdout_writer() -> None:
            async with write_stream_reader:
                async for session_message in write_stream_reader:
                    json = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await writer.write(json.encode() + b"\n")
                    listing.written(session_message.message)
                    answers.written(session_message.message)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(stdin_reader)
            tasks.start_soon(stdout_writer)
            yield read_stream, write_stream
    finally:
        for transport in (read_transport, write_transport):
            if transport is not None:
                transport.close()
        for fd, blocking in flags.items():
            with contextlib.suppress(OSError):
                os.set_blocking(fd, blocking)
        for release in (release_stdout, release_stdin):
            if release is not None:
                release()


class _Readable(Protocol):
    async def read(self, n: int) -> bytes: ...


class _ThreadReader:
    """stdin read in a worker thread, a chunk at a time (see ``_in_a_thread``)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def read(self, n: int) -> bytes:
        return await anyio.to_thread.run_sync(os.read, self._fd, n)


class _Writable(Protocol):
    async def write(self, data: bytes) -> None: ...


class _PipeWriter:
    """stdout through the loop's pipe transport: written at once, waiting only when the reader lags."""

    def __init__(self, transport: asyncio.WriteTransport, drain: _Drain) -> None:
        self._transport = transport
        self._drain = drain

    async def write(self, data: bytes) -> None:
        self._transport.write(data)
        await self._drain.wait()


class _ThreadWriter:
    """stdout written in a worker thread (see ``_in_a_thread``), all of it before the next message."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def write(self, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._write_all, data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]


class _Outstanding:
    """Whether the session still owes the client answers it can give: the requests read from stdin that are
    neither answered nor cancelled, unless the server is itself waiting on the client (an elicitation, say),
    which a client that has closed stdin will never answer."""

    def __init__(self) -> None:
        self._owed: set[Any] = set()  # the client's requests
        self._asked: set[Any] = set()  # the server's requests to the client
        self._done = anyio.Event()
        self._done.set()

    def read(self, message: Any) -> None:
        if isinstance(message, types.JSONRPCRequest):
            self._owed.add(message.id)
        elif isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
            self._asked.discard(message.id)
        elif getattr(message, "method", None) == "notifications/cancelled":
            params = getattr(message, "params", None)
            self._owed.discard(params.get("requestId") if isinstance(params, dict) else None)
        self._update()

    def written(self, message: Any) -> None:
        if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
            self._owed.discard(message.id)
        elif isinstance(message, types.JSONRPCRequest):
            self._asked.add(message.id)
        self._update()

    def _update(self) -> None:
        done = not self._owed or bool(self._asked)
        if done and not self._done.is_set():
            self._done.set()
        elif not done and self._done.is_set():
            self._done = anyio.Event()

    async def settled(self) -> None:
        await self._done.wait()


async def _lines(reader: _Readable) -> AsyncIterator[bytes]:
    """Newline-terminated lines (a last unterminated one too), however long, as bytes."""
    pending = bytearray()
    skipping = False  # inside a line that exceeded MAX_LINE_BYTES
    while True:
        chunk = await reader.read(READ_CHUNK)
        if not chunk:
            if pending and not skipping:
                yield bytes(pending)
            return
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            if skipping:
                skipping = False
            else:
                pending += chunk[start:end]
                yield bytes(pending)
            pending.clear()
            start = end + 1
        if not skipping:
            pending += chunk[start:]
            if len(pending) > MAX_LINE_BYTES:
                log.warning("skipped a stdin line longer than %d bytes", MAX_LINE_BYTES)
                pending.clear()
                skipping = True
                yield b""  # answered as unreadable, like any line that is not JSON-RPC


class _FirstListing:
    """Calls ``then`` once the answer to the first ``tools/list`` request has been written."""

    def __init__(self, then: Callable[[], object] | None) -> None:
        self._then = then
        self._id: Any = None

    def read(self, message: Any) -> None:
        if self._then is not None and self._id is None and getattr(message, "method", None) == "tools/list":
            self._id = getattr(message, "id", None)

    def written(self, message: Any) -> None:
        if self._then is None or self._id is None or getattr(message, "id", None) != self._id:
            return
        if isinstance(message, types.JSONRPCResponse | types.JSONRPCError):
            then, self._then = self._then, None
            then()


class _Drain(asyncio.Protocol):
    """Flow control for the stdout pipe: ``wait`` returns at once unless the reader has fallen behind."""

    def __init__(self) -> None:
        self._resumed: asyncio.Event | None = None
        self._lost: BaseException | None = None

    def pause_writing(self) -> None:
        self._resumed = asyncio.Event()

    def resume_writing(self) -> None:
        if self._resumed is not None:
            self._resumed.set()
            self._resumed = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lost = exc or BrokenPipeError("stdout closed")
        self.resume_writing()

    async def wait(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._resumed is not None:
            await self._resumed.wait()
            if self._lost is not None:
                raise self._lost
