"""nbaops.adapters.stdlib_http (GitHub, Slack): every request bounded as a whole."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request

import pytest

from nbaops.adapters.stdlib_http import send


def test_a_reply_dripping_a_byte_at_a_time_is_bounded_by_the_timeout() -> None:
    """The socket timeout bounds each read: a server sending one byte every half second
    never trips it, and a request took ~48 s with a 20 s timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
        try:
            for _ in range(40):
                conn.sendall(b"x")
                time.sleep(0.5)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    request = urllib.request.Request(f"http://127.0.0.1:{server.getsockname()[1]}/x")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="longer than 2s"):
        send(request, timeout_s=2)
    assert time.monotonic() - started < 10  # 40 bytes would take 20 s
    server.close()
