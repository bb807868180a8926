"""Splitting stdin into messages on the event loop (``stdio_pipes._lines``)."""

from __future__ import annotations

import asyncio

import pytest

from ops_mcp.transports import stdio_pipes

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # asyncio's StreamReader


async def lines_of(*chunks: bytes) -> list[bytes]:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    return [line async for line in stdio_pipes._lines(reader)]


async def test_lines_across_chunk_boundaries_and_a_last_unterminated_one() -> None:
    assert await lines_of(b'{"a":', b'1}\n{"b"', b":2}\n\n", b'{"c":3}') == [
        b'{"a":1}',
        b'{"b":2}',
        b"",
        b'{"c":3}',
    ]


async def test_a_line_longer_than_one_read() -> None:
    long = b"x" * (stdio_pipes.READ_CHUNK * 3 + 17)
    assert await lines_of(long + b"\nnext\n") == [long, b"next"]


async def test_a_line_over_the_cap_is_one_unreadable_message_and_the_next_line_is_read(monkeypatch) -> None:
    monkeypatch.setattr(stdio_pipes, "MAX_LINE_BYTES", 10)
    monkeypatch.setattr(stdio_pipes, "READ_CHUNK", 4)
    assert await lines_of(b"short\n", b"0123456789abcdef" * 3 + b"\nafter\n") == [b"short", b"", b"after"]
