"""One error mapping for every Google API adapter: a failed call becomes one line.

``google_call(api, what, call, error=...)`` runs one client call and turns whatever the
client raises (``google.api_core`` HTTP errors, retries given up, timeouts, connection
errors, ``google.auth`` refresh/credential errors) into the adapter's
:class:`~nbaops.errors.AdapterError` subclass with a message that names the API, the
action and the reason, and, for credentials, the fix. Only this module knows the shapes
of Google's error replies (``{"error": {"code", "message", "status"}}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nbaops.errors import AdapterError, first_line

T = TypeVar("T")

CREDENTIALS_FIX = (
    "run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)"
)


class CredentialsError(AdapterError):
    """No usable Google credentials (missing ADC, refresh refused)."""


class PermissionDeniedError(AdapterError):
    """The caller is authenticated but lacks a permission (HTTP 403)."""


class NotFoundError(AdapterError):
    """The named resource does not exist (HTTP 404)."""


def error_status(exc: Any) -> str:
    """The ``error.status`` of a REST error reply (``ABORTED``, ``ALREADY_EXISTS``…)."""
    response = getattr(exc, "response", None)
    try:
        payload = response.json() if response is not None else {}
        return str(payload.get("error", {}).get("status", ""))
    except (ValueError, AttributeError):
        return ""


def api_error_text(exc: Any) -> str:
    """The message of a Google API error reply (its JSON ``error.message`` when present)."""
    response = getattr(exc, "response", None)
    try:
        payload = response.json() if response is not None else None
        if isinstance(payload, dict) and payload.get("error", {}).get("message"):
            return str(payload["error"]["message"])
    except (ValueError, AttributeError):
        pass
    message = getattr(exc, "message", None) or str(exc)
    return str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__


def google_call(
    api: str,
    what: str,
    call: Callable[[], T],
    *,
    error: type[AdapterError] = AdapterError,
    timeout_s: float | None = None,
) -> T:
    """Run ``call``; map every Google client failure to one-line errors.

    Raises:
        CredentialsError: credentials missing or refused (401 included).
        PermissionDeniedError: HTTP 403.
        NotFoundError: HTTP 404.
        AdapterError: ``error`` (the adapter's own subclass) for everything else.
    """
    import concurrent.futures

    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        return call()
    except gexc.Unauthorized as exc:  # 401 (Unauthenticated is a subclass)
        raise CredentialsError(
            f"{api} {what}: credentials refused (HTTP 401: {api_error_text(exc)}); "
            f"{CREDENTIALS_FIX}"
        ) from exc
    except gexc.Forbidden as exc:  # 403 (PermissionDenied is a subclass)
        raise PermissionDeniedError(
            f"{api} {what}: permission denied: {api_error_text(exc)}"
        ) from exc
    except gexc.NotFound as exc:
        raise NotFoundError(f"{api} {what}: not found: {api_error_text(exc)}") from exc
    except gexc.RetryError as exc:
        raise error(f"{api} {what}: gave up retrying: {api_error_text(exc.cause or exc)}") from exc
    except gexc.GoogleAPICallError as exc:
        code = getattr(exc, "code", None)
        raise error(f"{api} {what}: HTTP {code}: {api_error_text(exc)}") from exc
    except (requests.exceptions.Timeout, concurrent.futures.TimeoutError, TimeoutError) as exc:
        limit = f" (limit {timeout_s:g}s)" if timeout_s else ""
        raise error(f"{api} {what}: timed out{limit}") from exc
    except requests.exceptions.RequestException as exc:
        raise error(f"{api} {what}: cannot reach the API: {type(exc).__name__}") from exc
    except auth_exc.GoogleAuthError as exc:
        raise CredentialsError(
            f"{api} {what}: no usable credentials ({type(exc).__name__}: "
            f"{first_line(exc)}); {CREDENTIALS_FIX}"
        ) from exc
