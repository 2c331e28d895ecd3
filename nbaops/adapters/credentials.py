"""Which Google credentials nbaops acts with: ADC in prod, a stand-in user locally.

Prod: Application Default Credentials (``google.auth.default``) with the cloud-platform
scope: whatever ``GOOGLE_APPLICATION_CREDENTIALS`` names (service account key, impersonated
account, ``external_account`` for Workload Identity) or ``gcloud auth
application-default login`` (``authorized_user``) or the metadata server.

Local profile: an ``authorized_user`` credential whose token endpoint is the stand-in, so
the local profile exercises the same path as a person's ADC in prod (refresh token →
access token → IAM Credentials ``generateIdToken`` for the invoker account).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from nbaops.adapters.errors import (
    CREDENTIALS_FIX,
    CredentialsError,
    network_failure,
    refresh_reason,
)
from nbaops.environment import read
from nbaops.errors import first_line

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
REFRESH_TIMEOUT_S = 30.0  # one token request, like one API call
LOCAL_CLIENT_ID = "nbaops-local.apps.googleusercontent.com"


# What google.auth.default raises for a credentials file it cannot read besides its own
# errors: valid JSON that is not an object ('list' object has no attribute 'get'), a
# field of the wrong type, a key it cannot parse; a path it cannot open (it checks only
# that the path exists, then opens it: a directory, a file this user may not read).
UNREADABLE_CREDENTIALS = (ValueError, TypeError, AttributeError, KeyError, IndexError, OSError)


def default_credentials() -> Any:
    """ADC with the cloud-platform scope.

    Raises:
        CredentialsError: no ADC found, or a credentials file google-auth cannot read (one
            line with the fix).
    """
    import google.auth
    from google.auth import exceptions as auth_exc

    try:
        credentials, _project = google.auth.default(scopes=[SCOPE])
    except auth_exc.GoogleAuthError as exc:
        first = first_line(exc)
        raise CredentialsError(
            f"no Application Default Credentials ({first}); {CREDENTIALS_FIX}"
        ) from None
    except UNREADABLE_CREDENTIALS as exc:
        where = read("GOOGLE_APPLICATION_CREDENTIALS") or "the Application Default Credentials"
        raise CredentialsError(
            f"{where} is not a usable credentials file ({first_line(exc, typed=True)[:200]}); "
            f"{CREDENTIALS_FIX}"
        ) from None
    return credentials


def anonymous_credentials() -> Any:
    """Credentials that send no token (a local stand-in endpoint accepts them)."""
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()  # type: ignore[no-untyped-call]


def client_kwargs(endpoint: str | None, credentials: Any = None) -> dict[str, Any]:
    """The keyword arguments every Google client of nbaops is built with (BigQuery's, which
    has no transport choice, takes all but ``transport``).

    Always the REST transport. ``endpoint`` (a stand-in's ``http://127.0.0.1:PORT``)
    becomes ``client_options.api_endpoint`` and, unless ``credentials`` are given,
    anonymous credentials; with neither, the client uses the real API and ADC.
    """
    from nbaops.adapters.stdlib_http import no_proxy_for_loopback

    kwargs: dict[str, Any] = {"transport": "rest", "credentials": credentials}
    no_proxy_for_loopback(endpoint)  # a stand-in on 127.0.0.1 is never behind a proxy
    if endpoint:
        kwargs["client_options"] = {"api_endpoint": endpoint}
        if credentials is None:
            kwargs["credentials"] = anonymous_credentials()
    elif credentials is None:  # ADC read here, so an unusable file is one CredentialsError
        kwargs["credentials"] = default_credentials()
    return kwargs


def standin_user_credentials(endpoint: str) -> Any:
    """An ``authorized_user`` credential refreshed at the stand-in's ``/token``.

    ``from_authorized_user_info`` always sets Google's token URI (google-auth 2.x ignores a
    ``token_uri`` in the info), so the stand-in's is set with ``with_token_uri``.
    """
    from google.oauth2 import credentials as user

    from nbaops.adapters.stdlib_http import no_proxy_for_loopback

    no_proxy_for_loopback(endpoint)  # its /token refresh goes through requests too
    creds = user.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
        {
            "type": "authorized_user",
            "client_id": LOCAL_CLIENT_ID,
            "client_secret": "local-stand-in",
            "refresh_token": "local-stand-in",
        },
        scopes=[SCOPE],
    )
    return creds.with_token_uri(f"{endpoint}/token")


class Refresh(NamedTuple):
    """What one token request proved: ``issued`` True (a token), False (refused: the
    endpoint answered no), None (nothing proved); ``reached``: whether the token endpoint
    was reached at all (False: the network path, not the credentials, is what to fix)."""

    issued: bool | None
    message: str
    reached: bool = True


def auth_request(timeout_s: float) -> Any:
    """A google-auth transport request bounded by ``timeout_s`` (its requests transport
    waits 120 s by default): for a token refresh or an ID token minted in-process."""
    import google.auth.transport.requests

    return functools.partial(google.auth.transport.requests.Request(), timeout=timeout_s)


def refresh_outcome(credentials: Any, *, timeout_s: float = REFRESH_TIMEOUT_S) -> Refresh:
    """Refresh ``credentials`` once (a token request within ``timeout_s``: google-auth's
    transport waits 120 s by default), never raising.

    Returns:
        ``(True, "a token was issued")``; ``(False, "refresh refused: …")`` when the token
        endpoint answered with a refusal; ``(None, "refresh failed: …")`` when it could
        not be asked (network: ``reached`` False; a malformed credential) or failed
        temporarily.
    """
    from google.auth import exceptions as auth_exc

    try:
        credentials.refresh(auth_request(timeout_s))
    except auth_exc.RefreshError as exc:
        why = refresh_reason(exc)
        if getattr(exc, "retryable", False):  # a 5xx or 429: nothing proved
            return Refresh(None, f"refresh failed (temporary, retry later): {why}")
        return Refresh(False, f"refresh refused: {why}")  # the token endpoint said no
    except (auth_exc.GoogleAuthError, OSError) as exc:
        message = f"refresh failed: {first_line(exc, typed=True)[:500]}"
        return Refresh(None, message, reached=not network_failure(exc))
    except Exception as exc:  # a reply google-auth cannot read (an HTML proxy page)
        return Refresh(
            None,
            "refresh failed: the token endpoint's reply could not be read "
            f"({first_line(exc, typed=True)[:300]})",
        )
    return Refresh(True, "a token was issued")
