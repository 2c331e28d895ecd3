"""A Slack incoming-webhook receiver on 127.0.0.1 for tests: records posts, answers as told."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from worlds.http_fake import FakeServer, Request

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
    url: str = ""
    posts: list[Post] = field(default_factory=list)
    status: int = 200  # what the next posts get
    reply: str = "ok"
    error_body: str = "service_unavailable"  # what a failed post answers (tests echo URLs)

    @property
    def webhook(self) -> str:
        return self.url + HOOK_PATH

    def route(self, request: Request) -> tuple[int, bytes]:
        self.posts.append(Post(request.path, request.json()))
        return self.status, (self.reply if self.status == 200 else self.error_body).encode()


@contextmanager
def slack_receiver() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    with FakeServer(receiver.route) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def receiver() -> Iterator[SlackReceiver]:
    """A running receiver for one test (``tests/conftest.py`` registers this module)."""
    with slack_receiver() as r:
        yield r
