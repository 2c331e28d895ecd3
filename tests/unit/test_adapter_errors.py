"""One error mapping for every Google adapter (nbaops.adapters.errors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nbaops.adapters.errors import NotFoundError, PermissionDeniedError, typed_as
from nbaops.errors import CloudRunError, WarehouseError, first_line


def test_an_adapter_error_is_also_the_typed_error_and_keeps_its_name() -> None:
    """Callers catch the adapter's class; a preflight tells a proved 403/404 (FAIL) from
    an undetermined failure (ERROR) by the typed class. The combined class printed as
    'WarehouseErrorPermissionDeniedError: ...' in every check line."""
    denied = typed_as(PermissionDeniedError, WarehouseError)("BigQuery query: denied")
    assert isinstance(denied, WarehouseError) and isinstance(denied, PermissionDeniedError)
    assert first_line(denied, typed=True) == "WarehouseError: BigQuery query: denied"
    assert typed_as(PermissionDeniedError, WarehouseError) is type(denied)  # made once
    missing = typed_as(NotFoundError, CloudRunError)("gone")
    assert isinstance(missing, CloudRunError) and isinstance(missing, NotFoundError)
    assert first_line(missing, typed=True) == "CloudRunError: gone"
    assert typed_as(NotFoundError, NotFoundError) is NotFoundError


def test_a_reply_that_is_not_json_and_a_token_request_that_failed_on_the_network() -> None:
    """An HTML page (a proxy) read as 'cannot reach the API: JSONDecodeError', and a DNS
    failure while fetching a token as 'no usable credentials; run gcloud auth ...'."""
    import pytest
    import requests
    from google.auth import exceptions as auth_exc

    from nbaops.adapters.errors import CredentialsError, google_call

    def html() -> None:
        raise requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)

    with pytest.raises(WarehouseError, match="the reply is not the API's JSON"):
        google_call("BigQuery", "query", html, error=WarehouseError)

    def dns() -> None:
        raise auth_exc.TransportError("Failed to resolve 'oauth2.googleapis.com'")

    with pytest.raises(WarehouseError) as info:
        google_call("BigQuery", "query", dns, error=WarehouseError)
    assert "cannot reach Google's token endpoint" in str(info.value)
    assert not isinstance(info.value, CredentialsError)


def _refused() -> BaseException:
    import requests

    return requests.exceptions.ConnectionError("Connection refused")


def _unavailable() -> BaseException:
    from google.api_core import exceptions as gexc

    return gexc.ServiceUnavailable("backend down")


def _gave_up(cause: BaseException) -> BaseException:
    from google.api_core import exceptions as gexc

    return gexc.RetryError("Timeout of 60.0s exceeded", cause)


def _timeout() -> BaseException:
    import requests

    return requests.exceptions.ReadTimeout("read timed out")


def _token_dns() -> BaseException:
    from google.auth import exceptions as auth_exc

    return auth_exc.TransportError("Failed to resolve 'oauth2.googleapis.com'")


@pytest.mark.parametrize(
    ("raised", "network"),
    [
        (_refused, True),
        (_timeout, True),
        (_token_dns, True),
        (lambda: _gave_up(_refused()), True),
        (lambda: _gave_up(_unavailable()), False),
        (_unavailable, False),
    ],
    ids=["refused", "timeout", "token-dns", "gave-up-on-network", "gave-up-on-503", "503"],
)
def test_a_call_that_never_reached_the_api_is_typed_unreachable(
    raised: Callable[[], BaseException], network: bool
) -> None:
    """The preflight points at the network path only when the API was not reached; it
    decided that by matching words of the message ('gave up retrying' on a run of 503s,
    an API that answered, read as 'check your proxy'), and GitHub's timeouts matched none."""
    from nbaops.adapters.errors import UnreachableError, google_call

    def call() -> None:
        raise raised()

    with pytest.raises(WarehouseError) as info:
        google_call("BigQuery", "query", call, error=WarehouseError)
    assert isinstance(info.value, UnreachableError) is network
    assert first_line(info.value, typed=True).startswith("WarehouseError: BigQuery query: ")


def test_the_preflight_names_the_network_only_for_an_api_it_did_not_reach() -> None:
    from nbaops.adapters.errors import google_call
    from nbaops.doctor import NETWORK_FIX, _Probe

    def probe_fix(error: BaseException) -> str:
        def body(_probe: _Probe) -> Any:
            raise error

        result = _Probe("project", "*", "the check's own fix", "list services").run(body)
        assert result.verdict == "ERROR"
        return str(result.details["fix"])

    def failing(exc: BaseException) -> BaseException:
        def call() -> None:
            raise exc

        try:
            google_call("Cloud Run", "list services", call, error=CloudRunError, typed=False)
        except CloudRunError as mapped:
            return mapped
        raise AssertionError("google_call did not raise")

    assert probe_fix(failing(_refused())) == NETWORK_FIX
    assert probe_fix(failing(_gave_up(_unavailable()))) == "the check's own fix"


def test_the_preflight_names_the_scopes_not_a_role_for_a_scope_refusal() -> None:
    """A 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT is a credentials error naming the scope fix,
    but doctor's fix column still gave the check's own fix (for the ID-token check:
    'grant yourself roles/iam.serviceAccountTokenCreator'), which no role satisfies."""
    from google.api_core import exceptions as gexc
    from google.rpc import error_details_pb2

    from nbaops.adapters.errors import SCOPES_FIX, ScopesInsufficientError, google_call
    from nbaops.doctor import _Probe

    info = error_details_pb2.ErrorInfo(reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT")

    def call() -> None:
        raise gexc.Forbidden("Request had insufficient authentication scopes.", error_info=info)

    def body(_probe: _Probe) -> Any:
        google_call("IAM Credentials", "generateIdToken", call, error=CloudRunError, typed=False)

    result = _Probe("id_token", "*", "grant yourself a role", "generateIdToken").run(body)
    assert result.details["fix"] == SCOPES_FIX
    assert "scopes do not cover this call" in result.message
    with pytest.raises(ScopesInsufficientError):
        google_call("IAM Credentials", "generateIdToken", call, error=CloudRunError)


@pytest.mark.parametrize(
    "where",
    [
        "/venv/lib/python3.11/site-packages/google/cloud/bigquery/job/base.py",
        "/usr/local/lib/python3.11/dist-packages/google/cloud/bigquery/job/base.py",
        "/usr/lib/python3/dist-packages/google/cloud/bigquery/job/base.py",
    ],
    ids=["site-packages", "pip-on-debian", "debian-package"],
)
def test_a_client_reading_a_reply_it_cannot_use_is_one_line_wherever_it_is_installed(
    where: str,
) -> None:
    """A KeyError raised inside the Google client (``{}`` where a job was expected) is the
    reply's fault, not nbaops': it was told apart only under ``site-packages``; installed
    by pip on Debian/Ubuntu (``dist-packages``) it escaped as an internal error."""
    from nbaops.adapters.errors import google_call

    inside_the_client = compile("raise KeyError('jobReference')", where, "exec")

    def call() -> None:
        exec(inside_the_client, {})

    with pytest.raises(WarehouseError, match=r"the reply could not be read \(KeyError"):
        google_call("BigQuery", "query", call, error=WarehouseError)
