"""The stand-in's HTTP server: threads per request, a count of requests in flight
(:meth:`nbaops.local.standin.StandIn.wait_idle`), one-line request errors, a deadline for
each request to arrive and a bound on an idle connection's wait for it
(:class:`StandInRequestHandler`) and the request body read within Google's size limit
(:func:`read_body`)."""

from __future__ import annotations

import io
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nbaops.local.cloudrun_state import StandInApiError, invalid_argument
from nbaops.local.world import WorldHooks
from nbaops.stdio import stderr_line

# Google's API front end refuses a request body over 10 MiB ("Request payload size exceeds
# the limit: 10485760 bytes"; BigQuery quotas: "Maximum request size 10 MB") with 413.
MAX_BODY_BYTES = 10 * 1024 * 1024
# How long a request may take to arrive, from its first byte to its body's last: a client
# that sends fewer bytes than announced and keeps its connection open, or drips its request
# line, headers or body a byte at a time (a slow-loris client), held a handler thread
# forever. Google's front end answers such a client 408 "Your client has taken too long to
# issue its request." (an HTML page: glotlabs/gdrive#36, googleapis/nodejs-storage#833); its
# wait is not published. Our clients send a whole request at once.
REQUEST_TIMEOUT_S = 30.0
# How long a connection may wait for its next request (its first too) to start; then it
# closes without a reply, as an idle keep-alive connection does (a client's pool opens a
# new one). Unbounded, a connection that never sent held its handler thread forever.
# Google's external Application Load Balancer closes an idle client connection after 610 s
# by default (cloud.google.com/load-balancing/docs/https, "client HTTP keepalive
# timeout"); the API front end's own wait is not published.
IDLE_TIMEOUT_S = 610.0


class InFlight:
    """How many requests are being handled (:meth:`StandIn.wait_idle`)."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.count += 1

    def __exit__(self, *exc: object) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    home: Path
    in_flight: InFlight
    hooks: WorldHooks
    request_timeout_s = REQUEST_TIMEOUT_S  # tests set small ones on their server
    idle_timeout_s = IDLE_TIMEOUT_S

    def server_bind(self) -> None:
        """Bind, naming the server by its address: ``HTTPServer.server_bind`` asks the
        resolver for the loopback's host name (:func:`socket.getfqdn`, which also imports
        the idna codec: ~20 ms of every start) for a name only CGI scripts read."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line instead of socketserver's traceback; none when the client gave up.

        A ``timeout`` fault answers after the client's own timeout: writing the answer
        then fails with a broken pipe, which is the fault working, not an error.
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        # the error may quote the request (its path, a header): masked and escaped
        stderr_line(f"nbaops stand-in: request failed: {type(exc).__name__}: {exc}")


class RequestTimeout(Exception):
    """The request's deadline passed before it all came (not a ``TimeoutError``, which
    ``BaseHTTPRequestHandler`` takes for a write's and closes the connection unanswered)."""


class DeadlineReader(io.RawIOBase):
    """A connection's bytes, each read waiting only until ``deadline`` (a
    :func:`time.monotonic` value; None: as long as it takes). A socket timeout bounds one
    read, so a client sending a byte per second never reached it; the deadline bounds them
    all. The socket's own timeout is as it was between reads (the reply's writes)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is None:
            return self.sock.recv_into(buffer)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RequestTimeout
        waited = self.sock.gettimeout()
        self.sock.settimeout(left)
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError:
            raise RequestTimeout from None
        finally:
            self.sock.settimeout(waited)


class StandInRequestHandler(BaseHTTPRequestHandler):
    """Reads each request under a deadline: ``server.request_timeout_s`` from its first
    byte. A head (request line, headers) that does not come in time is answered 408 here,
    a body :func:`read_body` refuses the same way; the connection then closes. A
    connection whose next request does not start within ``server.idle_timeout_s`` closes
    without a reply."""

    server: StandInServer
    reader: DeadlineReader
    rfile: io.BufferedReader

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # socketserver's reader (not the socket): this one replaces it
        self.reader = DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.deadline = time.monotonic() + self.server.idle_timeout_s
        try:
            self.rfile.peek(1)  # an idle keep-alive connection waits for its next request
        except RequestTimeout:
            self.close_connection = True  # idle too long: closed quietly, nothing to answer
            return
        self.reader.deadline = time.monotonic() + self.server.request_timeout_s
        # what a reply sent before the request line is parsed needs (http.server's own 414)
        self.requestline = self.request_version = self.command = ""
        try:
            super().handle_one_request()
        except RequestTimeout:
            error = _too_long(self)
            self.send_error(error.code, error.message)
        finally:
            self.reader.deadline = None


def _too_long(handler: BaseHTTPRequestHandler) -> StandInApiError:
    handler.close_connection = True
    return StandInApiError(
        408, "DEADLINE_EXCEEDED", "Your client has taken too long to issue its request."
    )


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The whole request body: ``Content-Length`` bytes, or the chunks of a
    ``Transfer-Encoding: chunked`` one (RFC 9112 7.1, trailers skipped), read until the
    request's deadline (:class:`DeadlineReader`).

    Raises:
        StandInApiError: 400 for a ``Transfer-Encoding`` whose final coding is not
            chunked, 501 for a coding before it (:func:`_check_chunked`), 400 for a
            length that is not decimal digits or Content-Length fields that differ, a
            chunk size that is not hexadecimal digits (``chunk-size = 1*HEXDIG``, an
            optional chunk-ext after ``;``), a chunk-size or trailer line over 1024 bytes, an
            HTTP/1.0 request with a Transfer-Encoding, or a body the client cut short
            (fewer bytes than its length, a chunk without its CRLF, no last chunk and
            blank line):
            Google's front end answers a malformed request 400. 413 for a body over
            :data:`MAX_BODY_BYTES` (refused before it is read: a huge length no longer
            holds the thread). 408
            when the request's deadline passes before the body all came
            (``StandInServer.request_timeout_s``). The connection then closes, since where the next
            request starts is unknown.
    """
    try:
        return _read_body(handler)
    except RequestTimeout:
        raise _too_long(handler) from None


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    rfile = handler.rfile
    transfer = handler.headers.get_all("Transfer-Encoding")
    if transfer is not None:
        _check_chunked(handler, transfer)
        chunks: list[bytes] = []
        total = 0
        while size := _chunk_size(handler, _read_line(handler, "a chunk-size line")):
            total += size
            _check_size(handler, total)  # before the chunk is read
            chunks.append(_read_exactly(handler, size, "a chunk"))
            if rfile.readline(_LINE_MAX) not in _EOL:
                why = "a chunk's data is not followed by CRLF (longer than its size, or cut short)"
                raise _malformed(handler, why)
        # trailer fields, up to the blank line (a line longer than the read of it ended the
        # body where its CRLF came alone, leaving the blank line as the next request)
        while (line := _read_line(handler, "a trailer field line")) not in _EOL:
            if not line:
                raise _malformed(handler, "the chunked body ends before its last blank line")
        return b"".join(chunks)
    # RFC 9110 8.6: Content-Length = 1*DIGIT; fields that differ are an invalid length,
    # which RFC 9112 6.3 answers 400 (the first alone was read: a smuggling vector)
    lengths = {value.strip() for value in handler.headers.get_all("Content-Length") or ["0"]}
    if len(lengths) > 1:
        raise _malformed(handler, f"the request's Content-Length fields differ: {sorted(lengths)}")
    text = lengths.pop()
    if not text.isascii() or not text.isdigit():
        raise _malformed(handler, "the request's body length is not a number")
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_BODY_BYTES)):  # over the limit; int() refuses 4300 digits
        _check_size(handler, MAX_BODY_BYTES + 1)
    length = int(digits)
    _check_size(handler, length)
    return _read_exactly(handler, length, "the body (Content-Length)") if length else b""


def _check_chunked(handler: BaseHTTPRequestHandler, fields: list[str]) -> None:
    """A request's ``Transfer-Encoding`` (every field of it, in order) is ``chunked`` alone.

    RFC 9112 6.3: when chunked is not the final coding of a request, "the server MUST
    respond with the 400 (Bad Request) status code and then close the connection"; 6.1: a
    coding the server does not understand "SHOULD" be 501 (the stand-in decodes none: a
    ``gzip, chunked`` body was taken as its compressed bytes); chunked "MUST NOT" be
    applied twice. With a ``Content-Length`` too, Transfer-Encoding wins and the connection
    closes after the reply (6.3: such a request may be smuggling). Google's front end's
    own answers to these are not published. An HTTP/1.0 request carrying one is 400 too:
    6.1, the server "MUST treat the message as if the framing is faulty, even if a
    Content-Length is present, and close the connection" (HTTP/1.0 has no chunked coding:
    a proxy may have passed the field on without decoding).
    """
    if handler.headers.get("Content-Length") is not None:
        handler.close_connection = True
    major, _, minor = handler.request_version.removeprefix("HTTP/").partition(".")
    if (int(major or 0), int(minor or 0)) < (1, 1):  # http.server checked the digits
        why = f"Transfer-Encoding in an {handler.request_version} request (faulty framing)"
        raise _malformed(handler, why)
    codings = [c.split(";", 1)[0].strip().lower() for f in fields for c in f.split(",")]
    codings = [c for c in codings if c]
    if not codings or codings[-1] != "chunked":
        shown = ", ".join(codings) or "empty"
        raise _malformed(handler, f"Transfer-Encoding {shown!r} does not end in chunked")
    if "chunked" in codings[:-1]:
        raise _malformed(handler, "Transfer-Encoding applies chunked more than once")
    if len(codings) > 1:
        handler.close_connection = True
        raise StandInApiError(
            501, "UNIMPLEMENTED", f"Transfer-Encoding {', '.join(codings[:-1])!r} is not supported"
        )


# RFC 9112 7.1: chunk-size = 1*HEXDIG, then chunk-ext = *( BWS ";" BWS name [BWS "=" BWS
# value] ), then CRLF (a bare LF is a line's end too, 2.2); int(x, 16) also took "0x10",
# "+5", "1_0" and spaces around the digits
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)(?:[ \t]*;[^\r\n]*)?\r?\n")
_EOL = (b"\r\n", b"\n")
_LINE_MAX = 1024  # bytes of a chunk-size (chunk-ext included) or trailer line the stand-in reads


def _read_line(handler: BaseHTTPRequestHandler, what: str) -> bytes:
    """One line of a chunked body, its end included; 400 when it is longer than
    :data:`_LINE_MAX` bytes (its rest would be read as the next line)."""
    line = handler.rfile.readline(_LINE_MAX)
    if len(line) >= _LINE_MAX and not line.endswith(b"\n"):
        raise _malformed(handler, f"{what} is longer than {_LINE_MAX} bytes")
    return line


def _chunk_size(handler: BaseHTTPRequestHandler, line: bytes) -> int:
    match = _CHUNK_SIZE.fullmatch(line)
    if match is None:
        shown = line.rstrip(b"\r\n")[:40].decode("ascii", "backslashreplace")
        raise _malformed(handler, f"the chunk size {shown!r} is not hexadecimal digits")
    return int(match[1], 16)


def _read_exactly(handler: BaseHTTPRequestHandler, size: int, what: str) -> bytes:
    data = handler.rfile.read(size)
    if len(data) < size:  # the client closed the connection first
        raise _malformed(handler, f"{what} ends after {len(data)} of its {size} bytes")
    return data


def _malformed(handler: BaseHTTPRequestHandler, message: str) -> StandInApiError:
    handler.close_connection = True
    return invalid_argument(message)


def _check_size(handler: BaseHTTPRequestHandler, length: int) -> None:
    if length > MAX_BODY_BYTES:
        handler.close_connection = True
        raise StandInApiError(
            413,
            "INVALID_ARGUMENT",
            f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.",
        )
