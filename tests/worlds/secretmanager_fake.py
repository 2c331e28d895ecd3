"""A tiny Secret Manager v1 REST server on 127.0.0.1 for tests (create, addVersion, access)."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeSecretManager:
    url: str
    secrets: dict[str, list[bytes]] = field(default_factory=dict)  # name -> versions
    requests: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def fake_secret_manager() -> Iterator[FakeSecretManager]:
    state: dict[str, FakeSecretManager] = {}

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, reason: str) -> None:
            self._reply(status, {"error": {"code": status, "message": reason, "status": reason}})

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            fake = state["f"]
            path = urlsplit(self.path).path
            fake.requests.append(("GET", path))
            match = re.fullmatch(r"/v1/(projects/[^/]+/secrets/[^/]+)/versions/latest:access", path)
            if not match or not fake.secrets.get(match.group(1)):
                return self._error(404, "NOT_FOUND")
            versions = fake.secrets[match.group(1)]
            data = base64.b64encode(versions[-1]).decode()
            name = f"{match.group(1)}/versions/{len(versions)}"
            self._reply(200, {"name": name, "payload": {"data": data}})

        def do_POST(self) -> None:
            fake = state["f"]
            parts = urlsplit(self.path)
            fake.requests.append(("POST", parts.path))
            body = self._body()
            create = re.fullmatch(r"/v1/(projects/[^/]+)/secrets", parts.path)
            if create:
                secret_id = parse_qs(parts.query)["secretId"][0]
                name = f"{create.group(1)}/secrets/{secret_id}"
                if name in fake.secrets:
                    return self._error(409, "ALREADY_EXISTS")
                fake.secrets[name] = []
                return self._reply(200, {"name": name, **body})
            add = re.fullmatch(r"/v1/(projects/[^/]+/secrets/[^/]+):addVersion", parts.path)
            if add and add.group(1) in fake.secrets:
                versions = fake.secrets[add.group(1)]
                versions.append(base64.b64decode(body["payload"]["data"]))
                return self._reply(200, {"name": f"{add.group(1)}/versions/{len(versions)}"})
            return self._error(404, "NOT_FOUND")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["f"] = FakeSecretManager(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state["f"]
    finally:
        server.shutdown()
        server.server_close()
