"""The stand-in's HTTP server: threads per request, a count of requests in flight
(:meth:`nbaops.local.standin.StandIn.wait_idle`), one-line request errors and the
request body read within Google's size limit (:func:`read_body`)."""

from __future__ import annotations

import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nbaops.local.cloudrun_state import StandInApiError, invalid_argument
from nbaops.local.world import WorldHooks

# Google's API front end refuses a request body over 10 MiB ("Request payload size exceeds
# the limit: 10485760 bytes"; BigQuery quotas: "Maximum request size 10 MB") with 413.
MAX_BODY_BYTES = 10 * 1024 * 1024


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
        sys.stderr.write(f"nbaops stand-in: request failed: {type(exc).__name__}: {exc}\n")


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The whole request body: ``Content-Length`` bytes, or the chunks of a
    ``Transfer-Encoding: chunked`` one (RFC 9112 7.1, trailers skipped).

    Raises:
        StandInApiError: 400 for a length or chunk size that is not a number (as
            Google's front end answers), 413 for a body over :data:`MAX_BODY_BYTES`
            (refused before it is read: a huge length no longer holds the thread); the
            connection then closes, since where the next request starts is unknown.
    """
    rfile = handler.rfile
    try:
        if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while (size := int(rfile.readline(1024).split(b";", 1)[0], 16)) > 0:
                total += size
                _check_size(handler, total)  # before the chunk is read
                chunks.append(rfile.read(size))
                rfile.readline(1024)  # the CRLF after the chunk
            if size < 0:
                raise ValueError(size)
            while rfile.readline(1024).strip():
                pass  # trailer fields, up to the blank line
            return b"".join(chunks)
        text = (handler.headers.get("Content-Length") or "0").strip()
        if not text.isascii() or not text.isdigit():
            raise ValueError(text)
    except ValueError:
        handler.close_connection = True
        raise invalid_argument("the request's body length is not a number") from None
    _check_size(handler, int(text))
    return rfile.read(int(text)) if int(text) else b""


def _check_size(handler: BaseHTTPRequestHandler, length: int) -> None:
    if length > MAX_BODY_BYTES:
        handler.close_connection = True
        raise StandInApiError(
            413,
            "INVALID_ARGUMENT",
            f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.",
        )
