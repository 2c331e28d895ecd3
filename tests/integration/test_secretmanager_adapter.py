"""The Secret Manager adapter against the fake (which follows Google's discovery document):
least-privilege writes, CRC32C checksums both ways, and a ``latest`` version that is
DISABLED or DESTROYED."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from worlds.bounded import outcome_within
from worlds.secretmanager_fake import (
    ACCESS,
    ADD_VERSION,
    CREATE,
    LIST_VERSIONS,
    FakeSecretManager,
    crc32c,
    fake_secret_manager,
)

from nbaops.adapters.secretmanager import SecretChecksumError, SecretManager
from nbaops.alerts.webhook_store import SecretManagerWebhookStore, SecretStoreError
from nbaops.context import Context
from nbaops.local.discovery import standin_contract
from nbaops.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "nba-props-platform"
SECRET_ID = "nbaops-slack-webhook"
NAME = f"projects/{PROJECT}/secrets/{SECRET_ID}"
OLD = b"https://hooks.slack.com/services/T0/B0/zzOldSecretzz"
NEW = b"https://hooks.slack.com/services/T0/B0/zzNewSecretzz"


@pytest.fixture
def sm() -> Iterator[FakeSecretManager]:
    with fake_secret_manager() as fake:
        yield fake


def api(sm: FakeSecretManager) -> SecretManager:
    return SecretManager(PROJECT, endpoint=sm.url)


def store(sm: FakeSecretManager) -> SecretManagerWebhookStore:
    return SecretManagerWebhookStore(PROJECT, SECRET_ID, sm.url)


def methods(sm: FakeSecretManager) -> list[str]:
    return [method for method, _ in sm.calls]


# ---------------------------------------------------------------- writes: least privilege


def test_adding_a_version_needs_only_the_version_adder_role(sm: FakeSecretManager) -> None:
    """roles/secretmanager.secretVersionAdder grants secretmanager.versions.add only: a
    CreateSecret first (403 for that role, even on an existing secret) failed the write."""
    sm.secrets[NAME] = [OLD]
    sm.denied = {CREATE}
    api(sm).add_version(SECRET_ID, NEW, labels={"managed-by": "nbaops"})
    assert sm.secrets[NAME] == [OLD, NEW]
    assert methods(sm) == [ADD_VERSION]


def test_a_missing_secret_is_created_then_the_version_added(sm: FakeSecretManager) -> None:
    api(sm).add_version(SECRET_ID, NEW, labels={"managed-by": "nbaops"})
    assert methods(sm) == [ADD_VERSION, CREATE, ADD_VERSION]  # 404, create, add
    assert sm.secrets[NAME] == [NEW] and sm.labels[NAME] == {"managed-by": "nbaops"}
    created = sm.calls[1][1]
    assert created["replication"] == {"automatic": {}}


def test_a_secret_created_by_someone_else_meanwhile_still_gets_the_version(
    sm: FakeSecretManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = sm._create

    def raced(*args: Any) -> tuple[int, Any]:
        sm.secrets[NAME] = [OLD]  # another configure created it between our add and create
        return real_create(*args)  # 409 ALREADY_EXISTS

    monkeypatch.setattr(sm, "_create", raced)
    api(sm).add_version(SECRET_ID, NEW, labels={})
    assert sm.secrets[NAME] == [OLD, NEW]


def test_a_refused_add_is_an_error_naming_the_permission_never_the_value(
    sm: FakeSecretManager,
) -> None:
    sm.secrets[NAME] = [OLD]
    sm.denied = {ADD_VERSION}
    from nbaops.redact import Secret

    with pytest.raises(SecretStoreError, match="secretmanager.versions.add") as info:
        store(sm).save(Secret(NEW.decode()))
    assert "zzNewSecretzz" not in str(info.value) and "\n" not in str(info.value)
    assert sm.secrets[NAME] == [OLD]


# ---------------------------------------------------------------- CRC32C


def test_the_add_request_carries_the_payloads_crc32c(sm: FakeSecretManager) -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
    sm.secrets[NAME] = []
    api(sm).add_version(SECRET_ID, NEW, labels={})
    (body,) = [body for method, body in sm.calls if method == ADD_VERSION]
    assert base64.b64decode(body["payload"]["data"]) == NEW
    assert body["payload"]["dataCrc32c"] == str(crc32c(NEW))  # int64: a JSON string


def test_a_reply_whose_crc32c_does_not_match_is_refused(sm: FakeSecretManager) -> None:
    sm.secrets[NAME] = [NEW]
    assert api(sm).read_latest(SECRET_ID) == NEW  # the right checksum: read
    sm.corrupt_replies = True
    with pytest.raises(SecretChecksumError, match="CRC32C") as info:
        api(sm).read_latest(SECRET_ID)
    assert info.value.exit_code == 3  # corrupted on the way: undetermined, not bad input
    with pytest.raises(SecretStoreError, match="CRC32C") as wrapped:
        store(sm).load()
    for text in (str(info.value), str(wrapped.value)):
        assert "zzNewSecretzz" not in text and "\n" not in text


# ---------------------------------------------------------------- latest DISABLED/DESTROYED


@pytest.mark.parametrize("state", ["DISABLED", "DESTROYED"])
def test_a_latest_version_that_is_not_enabled_is_named_with_the_fix(
    sm: FakeSecretManager, state: str
) -> None:
    """Disabling the newest (bad) version does not roll back: ``latest`` still names it.
    The error says so and what to do (exit 2); it does not quietly use an older version."""
    sm.secrets[NAME] = [OLD, NEW]
    sm.set_state(NAME, 2, state)
    with pytest.raises(SecretStoreError) as info:
        store(sm).load()
    message = str(info.value)
    assert info.value.exit_code == 2
    assert f"latest version (2) of secret {SECRET_ID} is {state}" in message
    assert "`inv slack.configure`" in message
    assert ("enable version 2 again" in message) is (state == "DISABLED")
    assert "zzOldSecretzz" not in message and "\n" not in message
    assert methods(sm) == [ACCESS] and LIST_VERSIONS not in methods(sm)


def test_doctor_fails_a_disabled_latest_version_with_the_fix(
    sm: FakeSecretManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbaops.doctor import check_slack_secret

    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("NBAOPS_SECRETMANAGER_ENDPOINT", sm.url)
    sm.secrets[NAME] = [OLD, NEW]
    sm.set_state(NAME, 2, "DISABLED")
    result = check_slack_secret(Context.create("prod", config_path=ROOT / "nbaops.yaml"))
    assert result is not None and result.verdict is Verdict.FAIL  # a config to fix, not ERROR
    assert "is DISABLED" in result.message and "enable version 2 again" in result.message
    assert "zzOldSecretzz" not in json.dumps(result.to_json())


# ---------------------------------------------------------------- outages


def test_a_read_through_an_outage_ends_within_its_timeout(sm: FakeSecretManager) -> None:
    """AccessSecretVersion's default retry re-sends a 503 for 60 s whatever the call's
    timeout: a read (``inv doctor``, every Slack alert) waited twice its 30 s."""
    sm.secrets[NAME] = [OLD]
    sm.unavailable = True
    read = SecretManager(PROJECT, endpoint=sm.url, timeout_s=1.0).read_latest
    error = outcome_within(lambda: read(SECRET_ID), 15, "the read")
    assert isinstance(error, Exception), error
    assert 1 < len(sm.requests) < 10  # retried, within the second


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
