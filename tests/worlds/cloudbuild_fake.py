"""A small Cloud Build v1 REST server on 127.0.0.1 for tests: create (a long-running
Operation whose metadata is a ``BuildOperationMetadata`` with the build), get and cancel
on the regional paths ``projects/P/locations/L/builds``.

Every request is checked against Google's published contract (the discovery document,
:func:`nbaops.local.discovery.standin_contract`) and so is every reply; a departure is
answered 400 like Google's front end and kept in :attr:`FakeCloudBuild.violations`.
A build answers ``statuses`` in turn, one per read (the last one for ever after).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from nbaops.local.discovery import ContractError, standin_contract
from worlds.http_fake import FakeServer, Request, google_error

CREATE = re.compile(r"/v1/(projects/([^/]+)/locations/([^/]+))/builds")
BUILD = re.compile(r"/v1/(projects/[^/]+/locations/[^/]+/builds/[^/]+?)(:cancel)?")
METADATA_TYPE = "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata"


@dataclass
class FakeCloudBuild:
    url: str = ""
    statuses: list[str] = field(default_factory=lambda: ["QUEUED", "WORKING", "SUCCESS"])
    status_detail: str = ""
    get_fails_with: int | None = None
    next_gets_fail: list[int] = field(default_factory=list)  # HTTP codes of the next reads
    cancel_fails_with: int | None = None
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> Build JSON
    requests: list[tuple[str, str, str, Any]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _reads: int = 0

    def route(self, request: Request) -> tuple[int, Any]:
        query = urlencode(request.query, doseq=True)
        body = request.json() if request.raw else None
        self.requests.append((request.method, request.path, query, body))
        contract = standin_contract()
        assert contract is not None, "google-api-python-client (a dev dependency) is missing"
        try:
            method = contract.validate(request.method, request.path, query, body)
        except ContractError as exc:
            self.violations.append(f"{request.method} {request.path}: {exc}")
            return exc.code, exc.to_json()
        status, reply = self._answer(request, body)
        if status == 200:
            bad = contract.response_violations(method, reply)
            self.violations.extend(f"reply to {method.id}: {d}" for _, d in bad)
        return status, reply

    def _answer(self, request: Request, body: Any) -> tuple[int, Any]:
        create = CREATE.fullmatch(request.path)
        if request.method == "POST" and create:
            parent, project, location = create.groups()
            build_id = f"b{len(self.builds) + 1:04d}-0000-4000-8000-000000000000"
            build = {
                **body,
                "name": f"{parent}/builds/{build_id}",
                "id": build_id,
                "projectId": project,
                "status": "QUEUED",
                "createTime": "2026-12-02T06:00:00Z",
                "logUrl": "https://console.cloud.google.com/cloud-build/builds;"
                f"region={location}/{build_id}?project={project}",
            }
            self.builds[build["name"]] = build
            operation = {
                "name": f"{parent}/operations/op-{build_id}",
                "metadata": {"@type": METADATA_TYPE, "build": build},
            }
            return 200, operation
        match = BUILD.fullmatch(request.path)
        if not match or match.group(1) not in self.builds:
            return google_error(404, "NOT_FOUND", "Requested entity was not found.")
        build = self.builds[match.group(1)]
        if match.group(2):  # :cancel
            if self.cancel_fails_with:
                return google_error(self.cancel_fails_with, "PERMISSION_DENIED", "denied")
            self.cancelled.append(match.group(1))
            build["status"] = "CANCELLED"
            return 200, build
        if self.get_fails_with:
            return google_error(self.get_fails_with, "PERMISSION_DENIED", "denied")
        if self.next_gets_fail:
            return google_error(self.next_gets_fail.pop(0), "INTERNAL", "internal error")
        if build["status"] != "CANCELLED":
            build["status"] = self.statuses[min(self._reads, len(self.statuses) - 1)]
            self._reads += 1
        if build["status"] not in ("QUEUED", "WORKING", "SUCCESS") and self.status_detail:
            build["statusDetail"] = self.status_detail
        return 200, build

    def created(self) -> list[dict[str, Any]]:
        """The bodies of the create requests."""
        return [b for m, p, _q, b in self.requests if m == "POST" and CREATE.fullmatch(p)]


@contextmanager
def fake_cloud_build() -> Iterator[FakeCloudBuild]:
    fake = FakeCloudBuild()
    with FakeServer(fake.route) as server:
        fake.url = server.url
        yield fake
