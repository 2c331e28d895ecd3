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


class ScopesInsufficientError(CredentialsError):
    """The credentials' OAuth scopes do not cover the call (HTTP 403
    ACCESS_TOKEN_SCOPE_INSUFFICIENT): the fix is the scopes, not an IAM role."""


class PermissionDeniedError(AdapterError):
    """The caller is authenticated but lacks a permission (HTTP 403)."""


class NotFoundError(AdapterError):
    """The named resource does not exist (HTTP 404)."""


class UnreachableError(AdapterError):
    """The API (or Google's token endpoint) was not reached: refused, reset, unknown host,
    no reply in time. Always raised as the adapter's own class too (:func:`unreachable`):
    a preflight points at the network path, not at the call's own fix."""


def unreachable(error: type[AdapterError]) -> type[AdapterError]:
    """``error`` that is also :class:`UnreachableError`."""
    return typed_as(UnreachableError, error)


def network_failure(exc: BaseException | None) -> bool:
    """Whether ``exc`` failed on the network, not in the API: refused, reset, unknown host,
    no reply in time, a reply cut short, a token request that could not be sent. The one
    list the retries (``warehouse_bigquery.bounded_retry``), the ``gave up retrying``
    mapping and the token refresh (``credentials.refresh_outcome``) judge by."""
    import requests
    from google.auth import exceptions as auth_exc

    network = (
        ConnectionError,
        TimeoutError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        auth_exc.TransportError,
    )
    return isinstance(exc, network)


def transient_retry(timeout_s: float, *also: type[Exception]) -> Any:
    """A ``google.api_core`` Retry of what the generated clients' defaults retry (503
    UNAVAILABLE, DEADLINE_EXCEEDED, and ``also``), within ``timeout_s`` in all: for a call
    whose default retries far longer than the call's own timeout (Cloud Scheduler GetJob:
    600 s, Cloud Monitoring ListTimeSeries: 90 s, Secret Manager AccessSecretVersion and
    IAM Credentials generateIdToken: 60 s), which bounds each try, not the retries."""
    from google.api_core import exceptions as gexc
    from google.api_core import retry as retries

    transient = retries.if_exception_type(gexc.ServiceUnavailable, gexc.DeadlineExceeded, *also)
    return retries.Retry(predicate=transient, initial=0.5, maximum=5.0, timeout=timeout_s)


_TYPED: dict[tuple[type[AdapterError], type[AdapterError]], type[AdapterError]] = {}


def typed_as(specific: type[AdapterError], error: type[AdapterError]) -> type[AdapterError]:
    """An error that is both ``error`` (what the adapter's callers catch) and ``specific``
    (what proves something: a refused permission, a missing resource), so a preflight can
    tell a proved FAIL from an undetermined ERROR whichever adapter raised it."""
    if issubclass(error, specific):
        return error
    key = (specific, error)
    if key not in _TYPED:
        # named as the adapter's own error: messages say "WarehouseError: ..." as before
        _TYPED[key] = type(error.__name__, (specific, error), {"__qualname__": error.__qualname__})
    return _TYPED[key]


def _raised_by_client(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside a Google client library reading a reply (``{}``
    where a job was expected: KeyError 'jobReference'), not in nbaops' own code."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1].filename.replace("\\", "/") if frames else ""
    # pip installs into dist-packages on Debian and Ubuntu's system Python
    return "/site-packages/google/" in last or "/dist-packages/google/" in last


def _reply_error(exc: Any) -> dict[str, Any]:
    """The ``error`` object of a Google REST error reply ({} when the reply has none)."""
    response = getattr(exc, "response", None)
    try:
        payload = response.json() if response is not None else None
    except (ValueError, AttributeError):
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


# 403 reasons that are not permissions, and their fix: BigQuery answers a quota, a rate
# limit, a project without billing and an operation it has blocked for a while with HTTP
# 403 and the reason in error.errors[0].reason
# (https://cloud.google.com/bigquery/docs/troubleshoot-quotas; the error table of
# https://cloud.google.com/bigquery/troubleshooting-errors: billingNotEnabled "returns
# when billing isn't enabled for the project", blocked "when BigQuery has temporarily
# blacklisted the operation you attempted to perform"): nothing about the caller's roles
# is proved, and granting one fixes nothing.
LIMIT_REASONS = {
    "quotaExceeded": ("quota exceeded", "retry later, or raise the quota"),
    "rateLimitExceeded": ("rate limit exceeded", "retry later, or raise the quota"),
    "billingNotEnabled": ("billing is not enabled", "enable billing for the project"),
    "blocked": ("the operation is blocked for now", "retry later"),
}


def error_reason(exc: Any) -> str:
    """The first ``error.errors[].reason`` of a Google REST error ('' when none)."""
    errors = getattr(exc, "errors", None) or _reply_error(exc).get("errors") or []
    first = errors[0] if isinstance(errors, list) and errors else None
    return str(first.get("reason", "")) if isinstance(first, dict) else ""


# google.rpc.ErrorInfo reason of a 403 for a token whose OAuth scopes do not cover the
# method ("Request had insufficient authentication scopes."): the fix is the credentials'
# scopes, not an IAM role (googleapis google/api/error_reason.proto: "the request is
# [...] with an access token that is missing required scopes"). google-api-core reads it
# from a REST reply's error.details into ``exc.reason`` (exceptions.from_http_response).
SCOPE_INSUFFICIENT = "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
SCOPES_FIX = (
    "the fix is the credentials' OAuth scopes, not an IAM role: use credentials with the "
    "cloud-platform scope (`gcloud auth application-default login` grants it; a service "
    "account key's or VM's credentials: request that scope)"
)


def error_info_reason(exc: Any) -> str:
    """The ``google.rpc.ErrorInfo`` reason of a Google error ('' when none): google-api-core's
    ``exc.reason``, else the ErrorInfo in the REST reply's ``error.details``."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    details = _reply_error(exc).get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("rpc.ErrorInfo"):
            return str(detail.get("reason", ""))
    return ""


def error_status(exc: Any) -> str:
    """The ``error.status`` of a REST error reply (``ABORTED``, ``ALREADY_EXISTS``…)."""
    return str(_reply_error(exc).get("status", ""))


def api_error_text(exc: Any) -> str:
    """The message of a Google API error reply (its JSON ``error.message`` when present)."""
    text = str(_reply_error(exc).get("message") or getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def google_call(
    api: str,
    what: str,
    call: Callable[[], T],
    *,
    error: type[AdapterError] = AdapterError,
    timeout_s: float | None = None,
    typed: bool = True,
) -> T:
    """Run ``call``; map every Google client failure to one-line errors.

    ``typed=False`` raises ``error`` for credentials, 403 and 404 too, with the same
    messages: for an adapter whose callers catch its own class (Cloud Run, Monitoring);
    the error is then also the specific class (:func:`typed_as`).
    An :class:`~nbaops.errors.AdapterError` raised by ``call`` itself passes unchanged.

    Raises:
        CredentialsError: credentials missing or refused (401 included), or a 403 whose
            reason is :data:`SCOPE_INSUFFICIENT` (the token's scopes fall short).
        PermissionDeniedError: HTTP 403, unless its reason is not a permission (a quota,
            a rate limit, billing: :data:`LIMIT_REASONS`, ``error``).
        NotFoundError: HTTP 404.
        UnreachableError: (as ``error``) the API or the token endpoint was not reached.
        AdapterError: ``error`` (the adapter's own subclass) for everything else.
    """
    import concurrent.futures

    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from google.protobuf import json_format

    def kind(specific: type[AdapterError]) -> type[AdapterError]:
        return specific if typed else typed_as(specific, error)

    where = f"{api} {what}"
    try:
        return call()
    except gexc.Unauthorized as exc:  # 401 (Unauthenticated is a subclass)
        raise kind(CredentialsError)(
            f"{where}: credentials refused (HTTP 401: {api_error_text(exc)}); {CREDENTIALS_FIX}"
        ) from exc
    except gexc.Forbidden as exc:  # 403 (PermissionDenied is a subclass)
        reason = error_reason(exc)
        if reason in LIMIT_REASONS:  # not a permission: undetermined, and no role to grant
            what, fix = LIMIT_REASONS[reason]
            raise error(
                f"{where}: {what} (HTTP 403 {reason}): {api_error_text(exc)}; {fix}"
            ) from exc
        if error_info_reason(exc) == SCOPE_INSUFFICIENT:  # the token's scopes, not a role
            raise kind(ScopesInsufficientError)(
                f"{where}: the credentials' scopes do not cover this call "
                f"(HTTP 403 {SCOPE_INSUFFICIENT}: {api_error_text(exc)}); {SCOPES_FIX}"
            ) from exc
        raise kind(PermissionDeniedError)(
            f"{where}: permission denied (HTTP 403): {api_error_text(exc)}"
        ) from exc
    except gexc.NotFound as exc:
        raise kind(NotFoundError)(f"{where}: not found: {api_error_text(exc)}") from exc
    except gexc.RetryError as exc:  # unreachable only when the last try failed on the network
        gave_up = unreachable(error) if network_failure(exc.cause) else error
        raise gave_up(f"{where}: gave up retrying: {api_error_text(exc.cause or exc)}") from exc
    except gexc.GoogleAPICallError as exc:
        raise error(f"{where}: HTTP {getattr(exc, 'code', None)}: {api_error_text(exc)}") from exc
    except (requests.exceptions.Timeout, concurrent.futures.TimeoutError, TimeoutError) as exc:
        limit = f" (limit {timeout_s:g}s)" if timeout_s else ""
        raise unreachable(error)(f"{where}: timed out{limit}") from exc
    except requests.exceptions.JSONDecodeError as exc:  # reached, but no API answered
        raise error(
            f"{where}: the reply is not the API's JSON (a proxy or captive portal page?)"
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise unreachable(error)(f"{where}: cannot reach the API: {type(exc).__name__}") from exc
    except (KeyError, TypeError, AttributeError, json_format.ParseError) as exc:
        # A REST transport parses a 2xx reply with json_format: an HTML page (a proxy's or
        # captive portal's "200 OK") is a ParseError, raised from protobuf, not requests.
        if not isinstance(exc, json_format.ParseError) and not _raised_by_client(exc):
            raise  # ours: a bug, shown as one (internal error)
        raise error(
            f"{where}: the reply could not be read ({first_line(exc, typed=True)[:120]}): "
            "not the API's answer (a proxy?) or a changed API"
        ) from exc
    except auth_exc.TransportError as exc:  # the token request failed on the network
        raise unreachable(error)(
            f"{where}: cannot reach Google's token endpoint ({first_line(exc, typed=True)[:200]})"
        ) from exc
    except auth_exc.GoogleAuthError as exc:
        raise auth_error(where, exc, error, kind(CredentialsError)) from exc


def auth_error(
    where: str,
    exc: BaseException,
    error: type[AdapterError],
    credentials_error: type[AdapterError] = CredentialsError,
) -> AdapterError:
    """The error for a ``google.auth`` failure during ``where``: a token endpoint that
    failed temporarily (a 5xx or 429: an outage, not the credentials) is ``error``;
    a refusal or missing credentials is ``credentials_error``, with the fix."""
    from google.auth import exceptions as auth_exc

    if isinstance(exc, auth_exc.RefreshError):  # the token endpoint answered
        if getattr(exc, "retryable", False):
            return error(
                f"{where}: Google's token endpoint failed temporarily ({refresh_reason(exc)}); "
                "retry later"
            )
        return credentials_error(
            f"{where}: credentials refused by the token endpoint ({refresh_reason(exc)}); "
            f"{CREDENTIALS_FIX}"
        )
    return credentials_error(
        f"{where}: no usable credentials ({first_line(exc, typed=True)}); {CREDENTIALS_FIX}"
    )


def refresh_reason(exc: BaseException) -> str:
    """Why a ``google.auth`` RefreshError happened, one line: its ``args[0]`` (``args[1]``
    is the raw reply; printed whole, the message became a tuple's repr)."""
    lines = (str(exc.args[0]) if exc.args else str(exc)).strip().splitlines()
    return lines[0][:500] if lines else type(exc).__name__
