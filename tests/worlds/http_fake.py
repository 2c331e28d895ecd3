"""One small HTTP server on 127.0.0.1 for the test fakes of outside APIs (Secret Manager,
Cloud Scheduler, GitHub, a Slack webhook): a fake is a *route*, a function from the
:class:`Request` to ``(status, body)``; :class:`FakeServer` does the HTTP.

A body that is ``bytes`` is sent as ``text/plain`` (Slack answers ``ok``), anything else
as JSON. Servers poll for shutdown every 50 ms (``serve_forever(0.05)``), not the
default 500 ms every stop would wait.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    raw: bytes
    query_string: str = ""  # as sent, for fakes that validate it (discovery contract)

    def json(self) -> Any:
        """The JSON body (``{}`` when there is none)."""
        return json.loads(self.raw or b"{}")


# (status, body) or (status, body, extra response headers)
Route = Callable[[Request], tuple[Any, ...]]


def google_error(status: int, reason: str, message: str | None = None) -> tuple[int, Any]:
    """A Google API error reply: ``{"error": {"code", "message", "status"}}``
    (https://cloud.google.com/apis/design/errors#http_mapping)."""
    return status, {"error": {"code": status, "message": message or reason, "status": reason}}


class FakeServer:
    """Serves ``route`` on a free port of 127.0.0.1 until :meth:`close` (or the ``with``
    block ends); ``url`` is its base URL."""

    def __init__(self, route: Route) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Request(
                    self.command, parts.path, parse_qs(parts.query), self.headers, raw, parts.query
                )
                status, body, *more = route(request)  # (status, body[, headers])
                extra: dict[str, str] = more[0] if more else {}
                plain = isinstance(body, bytes)
                data = body if plain else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain" if plain else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nobody to answer

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung
    server, a blackholed proxy): its ``http://`` URL."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(1)
    for conn in held:
        conn.close()
    server.close()


@contextmanager
def dripping_server(head: bytes, body: bytes = b"", *, drip_s: float = 0.0) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that answers one connection with ``head`` at once, then
    ``body`` a byte every ``drip_s`` seconds (no socket read waits long enough to time
    out): its ``http://`` URL, the server closed on exit."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            conn.sendall(head)
            for i in range(len(body)):
                conn.sendall(body[i : i + 1])
                time.sleep(drip_s)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
