"""The stand-in's request body reader (nbaops.local.http_server.read_body): a chunked body
is read in time linear in its chunks and refused over Google's 10 MiB limit."""

from __future__ import annotations

import io
import time
import types

import pytest

from nbaops.local.cloudrun_state import StandInApiError
from nbaops.local.http_server import MAX_BODY_BYTES, read_body


def handler(raw: bytes) -> types.SimpleNamespace:
    """What read_body reads of a request handler: its stream, headers and keep-alive."""
    return types.SimpleNamespace(
        rfile=io.BytesIO(raw), headers={"Transfer-Encoding": "chunked"}, close_connection=False
    )


def test_many_small_chunks_are_read_in_linear_time() -> None:
    """Each chunk summed the sizes of all those before it to check the limit: 30,000
    one-byte chunks took ~20 s of CPU, a thread of the stand-in held that long."""
    started = time.process_time()
    assert read_body(handler(b"1\r\nx\r\n" * 30_000 + b"0\r\n\r\n")) == b"x" * 30_000
    assert time.process_time() - started < 3  # linear: ~0.02 s


def test_chunks_over_the_limit_together_are_a_413_before_the_last_is_read() -> None:
    first = MAX_BODY_BYTES // 2 + 1
    # the second chunk's bytes never come: the size alone refuses it
    raw = f"{first:x}\r\n".encode() + b"x" * first + f"\r\n{first:x}\r\n".encode()
    request = handler(raw)
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 413 and "10485760 bytes" in str(refused.value)
    assert request.close_connection


def test_chunks_up_to_the_limit_are_read_with_their_extensions_and_trailers() -> None:
    half = MAX_BODY_BYTES // 2
    raw = f"{half:x};ext=1\r\n".encode() + b"a" * half + f"\r\n{half:X}\r\n".encode()
    raw += b"b" * half + b"\r\n0\r\nX-Trailer: t\r\n\r\n"
    assert read_body(handler(raw)) == b"a" * half + b"b" * half
