"""One error mapping for every Google adapter (nbaops.adapters.errors)."""

from __future__ import annotations

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
