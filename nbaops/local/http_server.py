"""The stand-in's HTTP server: threads per request, a count of requests in flight
(:meth:`nbaops.local.standin.StandIn.wait_idle`) and one-line request errors."""

from __future__ import annotations

import socketserver
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nbaops.local.world import WorldHooks


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
