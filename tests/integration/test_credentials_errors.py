"""Credentials that cannot be used: one line with the right fix, never an internal error.

A credentials file that is JSON but not an object, a token endpoint answering HTML (a
captive proxy) or a 5xx: google-auth raises AttributeError/TypeError, or a RefreshError
whose text is a tuple; tasks printed "internal error", and a 5xx read as a refusal (FAIL).
The token endpoint is a fake on 127.0.0.1 (a service-account key's token_uri).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from worlds.bounded import outcome_within
from worlds.http_fake import FakeServer, Request

from nbaops.adapters.credentials import default_credentials, refresh_outcome
from nbaops.adapters.errors import CredentialsError


def service_account_key(path: Path, token_uri: str) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "sa@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


def test_a_credentials_file_that_is_not_an_object_is_a_credentials_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "key.json"
    path.write_text("[1, 2]")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    with pytest.raises(CredentialsError) as info:
        default_credentials()
    message = str(info.value)
    assert message.startswith(f"{path} is not a usable credentials file (AttributeError")
    assert "gcloud auth application-default login" in message


def test_a_credentials_path_that_cannot_be_read_is_a_credentials_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """google-auth opens GOOGLE_APPLICATION_CREDENTIALS once it exists: a directory there
    (or a file this user may not read) raised IsADirectoryError / PermissionError, an
    OSError default_credentials let through: every prod task ended as an internal error,
    and `inv doctor` crashed in its first check instead of reporting it."""
    folder = tmp_path / "keys"
    folder.mkdir()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(folder))
    with pytest.raises(CredentialsError) as info:
        default_credentials()
    message = str(info.value)
    assert message.startswith(f"{folder} is not a usable credentials file (IsADirectoryError")
    assert "gcloud auth application-default login" in message


@pytest.mark.parametrize(
    ("reply", "issued", "words"),
    [
        ((500, {"error": "internal", "error_description": "backend down"}), None, "temporary"),
        ((400, {"error": "invalid_grant", "error_description": "bad key"}), False, "refused"),
        ((200, b"<html>Sign in to the Wi-Fi</html>"), None, "could not be read"),
        ((200, {"access_token": "t", "expires_in": 3600}), True, "issued"),
    ],
)
def test_a_token_endpoint_reply_is_judged_by_what_it_proves(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reply: tuple[int, Any],
    issued: bool | None,
    words: str,
) -> None:
    def token(_request: Request) -> tuple[int, Any]:
        return reply

    with FakeServer(token) as server:
        key = service_account_key(tmp_path / "sa.json", f"{server.url}/token")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        outcome, message, reached = refresh_outcome(default_credentials())
    assert outcome is issued, message
    assert words in message
    assert "\n" not in message and "({" not in message  # one line, not a tuple's repr
    assert reached  # the endpoint answered: the fix is the credentials, not the network


def test_a_token_endpoint_that_cannot_be_reached_is_not_a_credentials_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing proved (None) and the endpoint not reached: the preflight's fix is the
    network path. The doctor told it from the message's words ('TransportError')."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = service_account_key(tmp_path / "sa.json", f"http://127.0.0.1:{port}/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    outcome, message, reached = refresh_outcome(default_credentials())
    assert outcome is None and not reached, message


def test_a_token_endpoint_that_never_answers_is_judged_within_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """google-auth's transport waits 120 s for a token reply by default: ``inv doctor``'s
    credentials check, the first it runs, held two minutes on a silent endpoint."""
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        key = service_account_key(
            tmp_path / "sa.json", f"http://127.0.0.1:{silent.getsockname()[1]}/token"
        )
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        credentials = default_credentials()
        judge = lambda: refresh_outcome(credentials, timeout_s=1)  # noqa: E731
        outcome = outcome_within(judge, 20, "the refresh")
    issued, message, reached = outcome  # type: ignore[misc]  # (token, message, reached)
    assert issued is None and not reached, message


@pytest.mark.parametrize(
    ("reply", "kind", "words", "fix"),
    [
        (
            (503, {"error": "backendError", "error_description": "try later"}),
            "temporarily",
            "retry later",
            False,
        ),
        (
            (400, {"error": "invalid_grant", "error_description": "bad key"}),
            "refused",
            "invalid_grant",
            True,
        ),
    ],
    ids=["5xx", "refused"],
)
def test_a_token_endpoint_failure_during_an_api_call_says_what_it_proves(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reply: tuple[int, Any],
    kind: str,
    words: str,
    fix: bool,
) -> None:
    """Every API call refreshes through google_call: a 5xx of the token endpoint (an
    outage) said "no usable credentials ... run gcloud auth application-default login",
    with the reply's tuple repr, and system-health folded it into NO_CREDENTIALS."""
    from nbaops.adapters.errors import CredentialsError
    from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
    from nbaops.errors import WarehouseError

    with FakeServer(lambda _request: reply) as server:
        key = service_account_key(tmp_path / "sa.json", f"{server.url}/token")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
        monkeypatch.delenv("NBAOPS_BQ_ENDPOINT", raising=False)
        # the real API's address with this key: the token request (to the fake) comes
        # first and fails, so nothing leaves 127.0.0.1
        warehouse = BigQueryWarehouse("p", timeout_s=20)
        with pytest.raises(WarehouseError) as raised:
            warehouse.query("SELECT 1 AS x", timeout_s=20)
    message = str(raised.value)
    assert words in message and "\n" not in message and "({" not in message, message
    assert isinstance(raised.value, CredentialsError) is fix
    assert ("gcloud auth application-default login" in message) is fix, message
    assert kind in message, message
