"""A Slack incoming-webhook receiver on 127.0.0.1 for tests: records posts, answers as told."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# Shaped like a real webhook: the path is the credential.
HOOK_PATH = "/services/T0NBAOPS01/B0NBAOPS02/zq8SecretWebhookToken77"
TOKEN = "zq8SecretWebhookToken77"


@dataclass
class Post:
    path: str
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """Everything a person would read in the message."""
        return json.dumps(self.body)


@dataclass
class SlackReceiver:
    url: str
    posts: list[Post] = field(default_factory=list)
    status: int = 200  # what the next posts get
    reply: str = "ok"
    error_body: str = "service_unavailable"  # what a failed post answers (tests echo URLs)

    @property
    def webhook(self) -> str:
        return self.url + HOOK_PATH


@contextmanager
def slack_receiver() -> Iterator[SlackReceiver]:
    state: dict[str, SlackReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state["r"]
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            receiver.posts.append(Post(self.path, json.loads(raw or b"{}")))
            body = (
                receiver.reply.encode() if receiver.status == 200 else receiver.error_body.encode()
            )
            self.send_response(receiver.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = SlackReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[SlackReceiver]:
    """A running receiver for one test (``tests/conftest.py`` registers this module)."""
    with slack_receiver() as r:
        yield r
