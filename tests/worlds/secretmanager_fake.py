"""A tiny Secret Manager v1 REST server on 127.0.0.1 for tests (create, addVersion, access)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from worlds.http_fake import FakeServer, Request, google_error

ACCESS = re.compile(r"/v1/(projects/[^/]+/secrets/[^/]+)/versions/latest:access")
CREATE = re.compile(r"/v1/(projects/[^/]+)/secrets")
ADD_VERSION = re.compile(r"/v1/(projects/[^/]+/secrets/[^/]+):addVersion")


@dataclass
class FakeSecretManager:
    url: str = ""
    secrets: dict[str, list[bytes]] = field(default_factory=dict)  # name -> versions
    requests: list[tuple[str, str]] = field(default_factory=list)

    def route(self, request: Request) -> tuple[int, Any]:
        self.requests.append((request.method, request.path))
        if request.method == "GET":
            match = ACCESS.fullmatch(request.path)
            if not match or not self.secrets.get(match.group(1)):
                return google_error(404, "NOT_FOUND")
            versions = self.secrets[match.group(1)]
            data = base64.b64encode(versions[-1]).decode()
            return 200, {
                "name": f"{match.group(1)}/versions/{len(versions)}",
                "payload": {"data": data},
            }
        body = request.json()
        create = CREATE.fullmatch(request.path)
        if create:
            name = f"{create.group(1)}/secrets/{request.query['secretId'][0]}"
            if name in self.secrets:
                return google_error(409, "ALREADY_EXISTS")
            self.secrets[name] = []
            return 200, {"name": name, **body}
        add = ADD_VERSION.fullmatch(request.path)
        if add and add.group(1) in self.secrets:
            versions = self.secrets[add.group(1)]
            versions.append(base64.b64decode(body["payload"]["data"]))
            return 200, {"name": f"{add.group(1)}/versions/{len(versions)}"}
        return google_error(404, "NOT_FOUND")


@contextmanager
def fake_secret_manager() -> Iterator[FakeSecretManager]:
    fake = FakeSecretManager()
    with FakeServer(fake.route) as server:
        fake.url = server.url
        yield fake
