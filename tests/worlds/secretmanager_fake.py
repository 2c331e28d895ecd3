"""A small Secret Manager v1 REST server on 127.0.0.1 for tests.

It behaves like the real service where nbaops depends on it (Google's definitions:
``google/cloud/secretmanager/v1/{service,resources}.proto`` in googleapis/googleapis):

- every request is checked against Google's discovery document with the stand-in's
  contract (:func:`nbaops.local.discovery.standin_contract`): an unpublished route is 404,
  an unknown query parameter or body field, a wrong JSON type, 400 ``INVALID_ARGUMENT``;
- versions have states (``ENABLED``/``DISABLED``/``DESTROYED``); ``versions/latest`` is the
  newest version whatever its state, and accessing a version that is not ENABLED answers
  400 ``FAILED_PRECONDITION`` ("Secret Version [...] is in DISABLED state.");
- access replies carry ``payload.dataCrc32c`` (int64 as a JSON string); an addVersion
  whose ``payload.dataCrc32c`` does not match its data is refused (400);
- a method named in ``denied`` (a discovery method id such as
  ``secretmanager.projects.secrets.create``) answers 403 ``PERMISSION_DENIED``, checked
  before whether the resource exists, as IAM is.

Served: create, addVersion, versions.access (``latest`` or a number), versions.list (with
``filter=state:X``), versions.enable/disable/destroy. Other published methods answer 501.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import google_crc32c

from nbaops.local.discovery import ContractError, standin_contract
from worlds.http_fake import FakeServer, Request, google_error

API = "secretmanager.v1"
CREATE = "secretmanager.projects.secrets.create"
ADD_VERSION = "secretmanager.projects.secrets.addVersion"
ACCESS = "secretmanager.projects.secrets.versions.access"
LIST_VERSIONS = "secretmanager.projects.secrets.versions.list"
STATE_CHANGES = {
    "secretmanager.projects.secrets.versions.enable": "ENABLED",
    "secretmanager.projects.secrets.versions.disable": "DISABLED",
    "secretmanager.projects.secrets.versions.destroy": "DESTROYED",
}
# the IAM permission each method checks (cloud.google.com/iam/docs/roles-permissions/secretmanager)
PERMISSIONS = {
    CREATE: "secretmanager.secrets.create",
    ADD_VERSION: "secretmanager.versions.add",
    ACCESS: "secretmanager.versions.access",
    LIST_VERSIONS: "secretmanager.versions.list",
    "secretmanager.projects.secrets.versions.enable": "secretmanager.versions.enable",
    "secretmanager.projects.secrets.versions.disable": "secretmanager.versions.disable",
    "secretmanager.projects.secrets.versions.destroy": "secretmanager.versions.destroy",
}
SECRET = re.compile(r"/v1/(projects/[^/]+/secrets/[^/:]+)")
VERSION = re.compile(r"/v1/(projects/[^/]+/secrets/[^/]+)/versions/([^/:]+)")
CREATED = "2026-01-01T00:00:00Z"


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


class _Answer(Exception):
    """An error reply, raised from inside a handler."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.reply = google_error(status, reason, message)


@dataclass
class FakeSecretManager:
    url: str = ""
    # secret name -> payloads of versions 1, 2, ... (a test may set this directly)
    secrets: dict[str, list[bytes]] = field(default_factory=dict)
    # secret name -> {version number: state}; a version not listed is ENABLED
    states: dict[str, dict[int, str]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)  # method ids answered 403
    corrupt_replies: bool = False  # access replies carry a dataCrc32c that does not match
    unavailable: bool = False  # every request answers 503 UNAVAILABLE (an outage)
    requests: list[tuple[str, str]] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)  # (method id, JSON body)

    def state(self, secret: str, number: int) -> str:
        return self.states.get(secret, {}).get(number, "ENABLED")

    def set_state(self, secret: str, number: int, state: str) -> None:
        self.states.setdefault(secret, {})[number] = state

    def route(self, request: Request) -> tuple[int, Any]:
        self.requests.append((request.method, request.path))
        if self.unavailable:
            return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        path = unquote(request.path)
        body = request.json() if request.raw else None
        contract = standin_contract()
        assert contract is not None, "google-api-python-client (a dev dependency) is missing"
        try:
            method = contract.validate(request.method, path, request.query_string, body)
        except ContractError as exc:
            return exc.code, exc.to_json()
        if method.api != API:
            return google_error(404, "NOT_FOUND", f"{request.method} {path}: not Secret Manager")
        self.calls.append((method.id, body))
        if method.id in self.denied:
            resource = SECRET.match(path) or VERSION.match(path) or re.match(r"/v1/(.*)", path)
            name = resource.group(1) if resource else path
            permission = PERMISSIONS.get(method.id, method.id)
            return google_error(
                403,
                "PERMISSION_DENIED",
                f"Permission '{permission}' denied for resource '{name}' (or it may not exist).",
            )
        try:
            if method.id == CREATE:
                return self._create(path, request, body or {})
            if method.id == ADD_VERSION:
                return self._add_version(path, body or {})
            if method.id == ACCESS:
                return self._access(path)
            if method.id == LIST_VERSIONS:
                return self._list(path, request)
            if method.id in STATE_CHANGES:
                return self._set(path, STATE_CHANGES[method.id])
        except _Answer as answer:
            return answer.reply
        return google_error(501, "UNIMPLEMENTED", f"the fake does not serve {method.id}")

    def _create(self, path: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        parent = path.removeprefix("/v1/").removesuffix("/secrets")
        secret_id = request.query.get("secretId", [""])[0]
        name = f"{parent}/secrets/{secret_id}"
        if name in self.secrets:
            return google_error(409, "ALREADY_EXISTS", f"Secret [{name}] already exists.")
        self.secrets[name] = []
        self.labels[name] = dict(body.get("labels") or {})
        return 200, {"name": name, "createTime": CREATED, **body}

    def _add_version(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        name = path.removeprefix("/v1/").removesuffix(":addVersion")
        if name not in self.secrets:
            return google_error(404, "NOT_FOUND", f"Secret [{name}] not found.")
        payload = body.get("payload") or {}
        data = base64.b64decode(payload.get("data") or "")
        sent = payload.get("dataCrc32c")
        if sent is not None and int(sent) != crc32c(data):
            return google_error(
                400, "INVALID_ARGUMENT", "Checksum mismatch: payload.data_crc32c does not match"
            )
        versions = self.secrets[name]
        versions.append(data)
        return 200, {
            "name": f"{name}/versions/{len(versions)}",
            "createTime": CREATED,
            "state": "ENABLED",
            "clientSpecifiedPayloadChecksum": sent is not None,
        }

    def _version(self, path: str) -> tuple[str, int]:
        """The secret and version number a versions route names (``latest``: the newest)."""
        match = VERSION.match(path)
        assert match is not None  # the contract matched a versions route
        name, which = match.group(1), match.group(2)
        versions = self.secrets.get(name)
        if not versions:
            raise _Answer(404, "NOT_FOUND", f"Secret [{name}] not found or has no versions.")
        number = len(versions) if which == "latest" else int(which) if which.isdigit() else 0
        if not 1 <= number <= len(versions):
            raise _Answer(404, "NOT_FOUND", f"Secret Version [{name}/versions/{which}] not found.")
        return name, number

    def _access(self, path: str) -> tuple[int, Any]:
        name, number = self._version(path)
        state = self.state(name, number)
        if state != "ENABLED":
            return google_error(
                400,
                "FAILED_PRECONDITION",
                f"Secret Version [{name}/versions/{number}] is in {state} state.",
            )
        data = self.secrets[name][number - 1]
        checksum = crc32c(data) ^ (1 if self.corrupt_replies else 0)
        return 200, {
            "name": f"{name}/versions/{number}",
            "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(checksum)},
        }

    def _list(self, path: str, request: Request) -> tuple[int, Any]:
        name = path.removeprefix("/v1/").removesuffix("/versions")
        if name not in self.secrets:
            return google_error(404, "NOT_FOUND", f"Secret [{name}] not found.")
        wanted = request.query.get("filter", [""])[0].removeprefix("state:").upper()
        rows = [
            {"name": f"{name}/versions/{n}", "createTime": CREATED, "state": self.state(name, n)}
            for n in range(len(self.secrets[name]), 0, -1)  # newest first
        ]
        return 200, {"versions": [r for r in rows if not wanted or r["state"] == wanted]}

    def _set(self, path: str, state: str) -> tuple[int, Any]:
        name, number = self._version(path.rsplit(":", 1)[0])
        if self.state(name, number) == "DESTROYED":
            message = f"Secret Version [{name}/versions/{number}] is in DESTROYED state."
            return google_error(400, "FAILED_PRECONDITION", message)
        self.set_state(name, number, state)
        if state == "DESTROYED":
            self.secrets[name][number - 1] = b""
        reply = {"name": f"{name}/versions/{number}", "createTime": CREATED, "state": state}
        if state == "DESTROYED":
            reply["destroyTime"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, reply


@contextmanager
def fake_secret_manager() -> Iterator[FakeSecretManager]:
    fake = FakeSecretManager()
    with FakeServer(fake.route) as server:
        fake.url = server.url
        yield fake
