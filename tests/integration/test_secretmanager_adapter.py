"""The Secret Manager fake (tests/worlds/secretmanager_fake.py) answers like the real
service where nbaops depends on it: Google's discovery document, version states, CRC32C,
per-method permission failures."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from worlds.secretmanager_fake import (
    ACCESS,
    FakeSecretManager,
    crc32c,
    fake_secret_manager,
)

from nbaops.local.discovery import standin_contract

PROJECT = "nba-props-platform"
SECRET_ID = "nbaops-slack-webhook"
NAME = f"projects/{PROJECT}/secrets/{SECRET_ID}"
OLD = b"https://hooks.slack.com/services/T0/B0/zzOldSecretzz"
NEW = b"https://hooks.slack.com/services/T0/B0/zzNewSecretzz"


@pytest.fixture
def sm() -> Iterator[FakeSecretManager]:
    with fake_secret_manager() as fake:
        yield fake


# ---------------------------------------------------------------- the fake itself


def call(sm: FakeSecretManager, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(sm.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_fake_answers_like_the_published_contract(sm: FakeSecretManager) -> None:
    contract = standin_contract()
    assert contract is not None
    sm.secrets[NAME] = [OLD]
    bad_field, reply = call(sm, "POST", f"/v1/{NAME}:addVersion", {"payload": {"value": "x"}})
    assert bad_field == 400 and reply["error"]["status"] == "INVALID_ARGUMENT"
    bad_type, _ = call(sm, "POST", f"/v1/{NAME}:addVersion", {"payload": {"dataCrc32c": "x"}})
    assert bad_type == 400
    unknown_query, _ = call(sm, "GET", f"/v1/{NAME}/versions/latest:access?colour=red")
    assert unknown_query == 400
    assert call(sm, "POST", f"/v1/{NAME}/versions", {})[0] == 404  # published for GET only
    status, access = call(sm, "GET", f"/v1/{NAME}/versions/latest:access")
    assert status == 200 and access["payload"]["dataCrc32c"] == str(crc32c(OLD))
    method = contract.match("GET", f"/v1/{NAME}/versions/latest:access")
    assert contract.response_violations(method, access) == []
    wrong = {"payload": {"data": base64.b64encode(NEW).decode(), "dataCrc32c": "1"}}
    assert call(sm, "POST", f"/v1/{NAME}:addVersion", wrong)[0] == 400  # checked server-side
    assert sm.secrets[NAME] == [OLD]
    # latest is the newest version whatever its state; listing can filter on the state
    assert call(sm, "POST", f"/v1/{NAME}/versions/1:disable", {})[0] == 200
    status, refused = call(sm, "GET", f"/v1/{NAME}/versions/latest:access")
    assert (status, refused["error"]["status"]) == (400, "FAILED_PRECONDITION")
    assert f"[{NAME}/versions/1] is in DISABLED state" in refused["error"]["message"]
    _, listed = call(sm, "GET", f"/v1/{NAME}/versions?filter=state%3AENABLED")
    assert listed == {"versions": []}
    sm.denied = {ACCESS}
    status, denied = call(sm, "GET", f"/v1/{NAME}/versions/latest:access")
    assert (status, denied["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert "secretmanager.versions.access" in denied["error"]["message"]
