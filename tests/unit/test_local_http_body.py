"""The stand-in's request body reader (nbaops.local.http_server.read_body): a chunked body
is read in time linear in its chunks and refused over Google's 10 MiB limit; a malformed
chunk size or a body cut short is a 400."""

from __future__ import annotations

import io
import time
import types
from email.message import Message

import pytest

from nbaops.local.cloudrun_state import StandInApiError
from nbaops.local.http_server import MAX_BODY_BYTES, DeadlineReader, read_body


def fields(*pairs: tuple[str, str]) -> Message:
    """Request header fields as http.server parses them (a name may repeat)."""
    headers = Message()
    for name, value in pairs:
        headers[name] = value
    return headers


def handler(
    raw: bytes, *pairs: tuple[str, str], version: str = "HTTP/1.1"
) -> types.SimpleNamespace:
    """What read_body reads of a request handler: its stream, headers, version and
    keep-alive."""
    return types.SimpleNamespace(
        rfile=io.BytesIO(raw),
        headers=fields(*(pairs or [("Transfer-Encoding", "chunked")])),
        request_version=version,
        close_connection=False,
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


@pytest.mark.parametrize(
    "size_line",
    [b"0x5", b"+5", b"0_5", b" 5", b"5 ", b"-5", b"g", b"5;ext\r", b"\xd9\xa5"],
    ids=["0x", "plus", "underscore", "space-before", "space-after", "minus", "g", "cr", "arabic-5"],
)
def test_a_chunk_size_that_is_not_hexadecimal_digits_is_a_400(size_line: bytes) -> None:
    """RFC 9112 7.1: chunk-size = 1*HEXDIG, then an optional chunk-ext after ';'. int(x, 16)
    took '0x5', '+5', '0_5' and spaces around the digits as the size 5; Google's front end
    answers 400 for a malformed body. The connection closes (where the next request starts
    is unknown)."""
    raw = size_line + (b"\n" if size_line and not size_line.endswith(b"\r") else b"")
    request = handler(raw + b"hello\r\n0\r\n\r\n")
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 400 and "chunk size" in str(refused.value)
    assert request.close_connection


def test_a_chunk_size_line_over_1024_bytes_is_a_400_that_says_so() -> None:
    """A chunk-size line longer than the 1024 bytes read of it (a long chunk-ext) was
    refused as "not hexadecimal digits", though its digits were fine: the message now
    names the line's length. A line of 1023 bytes and its LF is read as before."""
    long_line = b"5;ext=" + b"x" * 1100 + b"\r\n"
    request = handler(long_line + b"hello\r\n0\r\n\r\n")
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 400, refused.value
    assert "longer than 1024 bytes" in str(refused.value)
    assert "hexadecimal" not in str(refused.value) and request.close_connection
    fits = b"5;e=" + b"x" * (1023 - 4) + b"\n"
    assert len(fits) == 1024 and read_body(handler(fits + b"hello\r\n0\r\n\r\n")) == b"hello"


@pytest.mark.parametrize("value", [1024 - 5, 1100, 5000], ids=["crlf-read-alone", "1100", "5000"])
def test_a_trailer_line_over_1024_bytes_is_a_400_not_the_body_s_end(value: int) -> None:
    """Trailer lines were read 1024 bytes at a time: one whose CRLF came alone in the
    next read ended the body there, leaving its real blank line as the next request (the
    connection kept open), and longer ones were read in pieces without end. A line over
    the 1024 bytes read of it is a 400 and the connection closes; one that fits is read."""
    line = b"X-T: " + b"x" * value + b"\r\n"
    request = handler(CHUNKED_HELLO[:-2] + line + b"\r\nNEXT")
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 400 and "trailer field line is longer than 1024 bytes" in str(
        refused.value
    )
    assert request.close_connection
    fits = b"X-T: " + b"x" * (1024 - 7) + b"\n"
    assert len(fits) == 1023 and read_body(handler(CHUNKED_HELLO[:-2] + fits + b"\r\n")) == b"hello"


@pytest.mark.parametrize("pairs", [[], [("Content-Length", "5")]], ids=["alone", "with-length"])
def test_an_http_1_0_request_with_transfer_encoding_is_a_400(
    pairs: list[tuple[str, str]],
) -> None:
    """RFC 9112 6.1: an HTTP/1.0 message carrying Transfer-Encoding must be treated as if
    its framing is faulty, even with a Content-Length, and the connection closed; it was
    read as chunked (HTTP/1.0 has no chunked coding)."""
    request = handler(CHUNKED_HELLO, ("Transfer-Encoding", "chunked"), *pairs, version="HTTP/1.0")
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 400 and "HTTP/1.0" in str(refused.value)
    assert request.close_connection
    assert read_body(handler(b"hello", ("Content-Length", "5"), version="HTTP/1.0")) == b"hello"


def test_a_chunk_size_may_carry_extensions_after_whitespace_and_a_bare_lf() -> None:
    """chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ) (RFC 9112 7.1.1), and a
    recipient may take a bare LF as a line's end (RFC 9112 2.2): both stay accepted."""
    raw = b"5 ; name = value\r\nhello\r\n3;x\nabc\n0\n\n"
    assert read_body(handler(raw)) == b"helloabc"


@pytest.mark.parametrize(
    "raw",
    [
        b"5\r\nhel",  # the connection closed inside a chunk's data
        b"5\r\nhello",  # ... after its data, before its CRLF
        b"5\r\nhelloXY0\r\n\r\n",  # a chunk longer than its size: no CRLF where it ends
        b"5\r\nhello\r\n",  # no last chunk (0) at all
        b"5\r\nhello\r\n0\r\n",  # the last chunk, without the blank line that ends the body
        b"5\r\nhello\r\n0\r\nX-Trailer: t\r\n",  # a trailer field, then the close
    ],
    ids=["mid-data", "no-crlf", "overlong", "no-last-chunk", "no-final-crlf", "cut-trailer"],
)
def test_a_chunked_body_cut_short_is_a_400(raw: bytes) -> None:
    """A chunk whose data the client cut short was taken as it came, and a body ending
    before its last chunk's blank line as complete: the request ran on part of its body."""
    request = handler(raw)
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 400, refused.value
    assert request.close_connection


def sized(raw: bytes, length: str) -> types.SimpleNamespace:
    return handler(raw, ("Content-Length", length))


def test_a_body_shorter_than_its_content_length_is_a_400() -> None:
    """rfile.read(n) returns what came before the client closed: a request that promised
    10 bytes and sent 3 ran on those 3 bytes (RFC 9112 8: an incomplete message)."""
    request = sized(b'{"a', "10")
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 400 and "Content-Length" in str(refused.value)
    assert request.close_connection
    assert read_body(sized(b'{"a": 1}', "8")) == b'{"a": 1}'
    assert read_body(sized(b"", "0")) == b""


CHUNKED_HELLO = b"5\r\nhello\r\n0\r\n\r\n"


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ([("Transfer-Encoding", "gzip")], 400),
        ([("Transfer-Encoding", "chunked, gzip")], 400),
        ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "gzip")], 400),
        ([("Transfer-Encoding", "gzip"), ("Content-Length", "19")], 400),
        ([("Transfer-Encoding", "")], 400),
        ([("Transfer-Encoding", "chunked, chunked")], 400),
        ([("Transfer-Encoding", "gzip, chunked")], 501),
        ([("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")], 501),
    ],
    ids=["gzip", "last-gzip", "second-field-gzip", "gzip-with-length", "empty", "chunked-twice",
         "gzip-chunked", "fields-gzip-chunked"],
)  # fmt: skip
def test_a_transfer_encoding_other_than_chunked_alone_is_refused(
    pairs: list[tuple[str, str]], code: int
) -> None:
    """RFC 9112 6.3: a request whose final transfer coding is not chunked is 400 and the
    connection closes; 6.1: a coding the server does not decode is 501. "chunked" anywhere
    in the first field made the body chunked (gzip's compressed bytes taken as the JSON,
    a final gzip read as chunks) and the first field hid a second; a final coding other
    than chunked fell through to Content-Length."""
    request = handler(CHUNKED_HELLO, *pairs)
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == code, refused.value
    assert "Transfer-Encoding" in str(refused.value)
    assert request.close_connection


def test_transfer_encoding_wins_over_content_length_and_the_connection_closes() -> None:
    """RFC 9112 6.3: with both, Transfer-Encoding overrides Content-Length and the server
    closes the connection after the reply (the pair may be request smuggling)."""
    request = handler(CHUNKED_HELLO, ("Content-Length", "3"), ("Transfer-Encoding", "Chunked"))
    assert read_body(request) == b"hello"
    assert request.close_connection
    plain = handler(CHUNKED_HELLO, ("Transfer-Encoding", " chunked "))
    assert read_body(plain) == b"hello" and not plain.close_connection


def test_a_body_dripped_past_the_request_deadline_is_a_408_not_a_held_thread() -> None:
    """The body's reads had a timeout each: a client that announced 100 bytes and sent one
    every 0.02 s never reached it and held the handler thread for as long as it liked.
    The request's deadline bounds all the reads (DeadlineReader): Google's front end
    answers 408 "Your client has taken too long to issue its request."; the connection
    closes and the socket's timeout is back as it was for the reply. A body that comes in
    time is read as before."""
    import socket
    import threading

    client, server = socket.socketpair()
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(0.02):
            client.sendall(b"x")

    with client, server:
        request = handler(b"", ("Content-Length", "100"))
        reader = DeadlineReader(server)
        request.rfile = io.BufferedReader(reader)
        reader.deadline = time.monotonic() + 0.3
        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            with pytest.raises(StandInApiError) as refused:
                read_body(request)
        finally:
            stop.set()
            dripper.join()
        assert time.monotonic() - reader.deadline < 1
        assert refused.value.code == 408 and "too long" in str(refused.value)
        assert request.close_connection and server.gettimeout() is None
    client, server = socket.socketpair()
    with client, server:
        request = handler(b"", ("Content-Length", "8"))
        reader = DeadlineReader(server)
        request.rfile = io.BufferedReader(reader)
        reader.deadline = time.monotonic() + 0.3
        client.sendall(b'{"a": 1}')
        assert read_body(request) == b'{"a": 1}'
        assert not request.close_connection and server.gettimeout() is None


def test_content_length_fields_that_differ_or_are_empty_are_a_400() -> None:
    """Only the first Content-Length field was read: "3" then "10" ran on 3 bytes and left
    7 in the stream as the next request (RFC 9110 8.6: differing values are an invalid
    length; RFC 9112 6.3: 400), and an empty one was taken as 0. Repeated equal values
    are one length."""
    for pairs in ([("Content-Length", "3"), ("Content-Length", "10")], [("Content-Length", "")]):
        request = handler(b"abcdefghij", *pairs)
        with pytest.raises(StandInApiError) as refused:
            read_body(request)
        assert refused.value.code == 400 and request.close_connection, pairs
    same = handler(b"abc", ("Content-Length", "3"), ("Content-Length", " 3"))
    assert read_body(same) == b"abc"
    assert read_body(handler(b"", ("X-Other", "1"))) == b""  # no length: no body


def test_a_content_length_of_thousands_of_digits_is_a_413_not_a_crash() -> None:
    """int() refuses a string of over 4300 digits (ValueError): the stand-in answered 500
    INTERNAL "stand-in error" instead of Google's 413 for a body over its limit. Leading
    zeros are no length of their own."""
    request = handler(b"hello", ("Content-Length", "9" * 5000))
    with pytest.raises(StandInApiError) as refused:
        read_body(request)
    assert refused.value.code == 413 and request.close_connection
    assert read_body(handler(b"hello", ("Content-Length", "0" * 5000 + "5"))) == b"hello"


def test_stand_in_request_failure_line_is_redacted_and_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in's one line for a request that failed quotes the error, which may
    quote the request (a path, a header holding a token): it was written past
    stderr_line, a secret fragment and an escape sequence reaching the terminal as-is."""
    from nbaops.local.http_server import StandInServer

    token = "ghp_STANDINsecretTOKEN0123456789"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    try:
        raise ValueError(f"bad header {token[:20]} \x1b[2J")
    except ValueError:
        StandInServer.handle_error(object.__new__(StandInServer), None, ("127.0.0.1", 1))
    err = capsys.readouterr().err
    assert token[:20] not in err and "\x1b" not in err, err
    assert err.startswith("nbaops stand-in: request failed: ValueError: bad header ***")
    assert "\\x1b[2J" in err and err.count("\n") == 1
