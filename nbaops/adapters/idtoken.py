"""ID tokens for Cloud Run invocations, from every kind of Google credential.

Cloud Run's invoker check wants a Google-signed ID token whose ``aud`` is the service's
``*.run.app`` URL or one of its custom audiences (Cloud Run docs, "Set custom audiences").
``google.oauth2.id_token.fetch_id_token`` only handles ``service_account`` /
``impersonated_service_account`` key files and the metadata server, so user ADC
(``authorized_user``) and Workload Identity in CI (``external_account``) could never probe
a service. Here a ``service_account`` key signs its own token (a JWT-bearer grant with
``target_audience``), ``compute_engine`` asks the metadata server's identity endpoint, and
every other kind calls IAM Credentials ``generateIdToken`` (endpoint-switchable): for the
``impersonated`` account, else for ``profiles.<p>.invoker_service_account`` (an
``external_account`` that impersonates an account uses that one when none is set). The
caller needs ``roles/iam.serviceAccountTokenCreator`` on the invoker account, and that
account ``roles/run.invoker`` on the services (docs/first-prod-run.md).
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from nbaops.adapters.credentials import auth_request
from nbaops.adapters.errors import CredentialsError, google_call
from nbaops.adapters.iamcredentials import generate_id_token
from nbaops.errors import AdapterError, ConfigError
from nbaops.redact import remember

RUN_APP_SUFFIX = ".run.app"
REFRESH_MARGIN_S = 300  # mint again when a cached token has less than this left (1 h tokens)


def _expiry(token: str, *, default: float) -> float:
    """The ``exp`` claim of a JWT (unverified: only to know when to mint again)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return default


class IdTokenError(AdapterError):
    """No ID token could be minted for an audience."""


class TokenSource(Protocol):
    def token(self, audience: str) -> str: ...


class LazyIdTokens:
    """A :class:`TokenSource` whose credentials are resolved on the first token (a missing
    ADC then fails that probe, not the construction of the prober)."""

    def __init__(self, factory: Callable[[], TokenSource]) -> None:
        self._factory = factory

    def token(self, audience: str) -> str:
        return self._factory().token(audience)


def credential_kind(credentials: Any) -> str:
    """The kind of ``credentials`` (the module docstring's table, or ``anonymous`` /
    ``unknown``), by class, never by guessing from a file."""
    from google.auth import credentials as base
    from google.auth import (
        external_account,
        external_account_authorized_user,
        impersonated_credentials,
    )
    from google.oauth2 import credentials as user
    from google.oauth2 import service_account

    if isinstance(credentials, service_account.Credentials):
        return "service_account"
    if isinstance(credentials, impersonated_credentials.Credentials):
        return "impersonated"
    if isinstance(credentials, user.Credentials):
        return "authorized_user"
    if isinstance(
        credentials, (external_account.Credentials, external_account_authorized_user.Credentials)
    ):
        return "external_account"  # Workload / Workforce Identity Federation
    if isinstance(credentials, base.AnonymousCredentials):
        return "anonymous"
    from google.auth import compute_engine  # last: its import (~0.35 s) the others skip

    if isinstance(credentials, compute_engine.Credentials):
        return "compute_engine"
    return "unknown"


def service_audience(url: str) -> str:
    """The default audience for a URL: the service URL, also for a revision-tag URL.

    Cloud Run's audience is the service's URL, not necessarily the URL requested
    (GoogleCloudPlatform/python-docs-samples#7795: "audience and endpoint can differ for
    Cloud Run"); smoke tests of tag URLs mint for the service URL
    (``gcloud auth print-identity-token --audiences=$SERVICE_URL``).

    ``https://TAG---SERVICE-HASH-CODE.a.run.app/health`` → ``https://SERVICE-HASH-CODE.a.run.app``;
    any other URL → ``scheme://host`` (a custom domain is audienced as configured on the
    service: pass that audience explicitly).
    """
    parts = urlsplit(url)
    host = parts.netloc
    if (parts.hostname or "").endswith(RUN_APP_SUFFIX) and "---" in host:
        host = host.split("---", 1)[1]
    return f"{parts.scheme}://{host}"


class IdTokenSource:
    """Mints (and caches per audience) ID tokens from one credential.

    Args:
        credentials: google-auth credentials of any kind (:func:`credential_kind`).
        invoker_service_account: the account to mint for when the credentials cannot.
        iam_endpoint: IAM Credentials ``api_endpoint`` (the stand-in); None = the real API.
        timeout_s: how long one mint may take (its token request, or the IAM call with
            its retries).
        clock: seconds since the epoch (tests), to know when a cached token is too old.
    """

    def __init__(
        self,
        credentials: Any,
        *,
        invoker_service_account: str | None = None,
        iam_endpoint: str | None = None,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.credentials = credentials
        self.invoker_service_account = invoker_service_account or None
        self.iam_endpoint = iam_endpoint
        self.timeout_s = timeout_s
        self.kind = credential_kind(credentials)
        self._cache: dict[str, tuple[str, float]] = {}  # audience -> (token, exp)
        self._lock = threading.Lock()

    def plan(self) -> str:
        """One line: how this source gets ID tokens (for ``inv doctor`` and errors)."""
        kind = self.kind
        if kind == "service_account":
            return f"service account {self.credentials.service_account_email} signs its own"
        if kind == "compute_engine":
            return "the metadata server's identity endpoint"
        target = self.target_account()
        if target is None:
            return f"{kind} credentials cannot mint ID tokens and no invoker account is set"
        return f"IAM Credentials generateIdToken for {target} ({kind} credentials)"

    def target_account(self) -> str | None:
        """The service account the IAM path mints for (None: not the IAM path / unknown)."""
        if self.kind == "impersonated":
            return str(self.credentials.service_account_email)
        if self.kind in ("authorized_user", "external_account"):
            if self.invoker_service_account:
                return self.invoker_service_account
            if self.kind == "external_account":
                impersonated = getattr(self.credentials, "service_account_email", None)
                return str(impersonated) if impersonated else None
        return None

    def token(self, audience: str) -> str:
        """An ID token with ``aud`` = ``audience``.

        Raises:
            ConfigError: the credentials need an invoker account and none is configured.
            CredentialsError / PermissionDeniedError / IdTokenError: minting failed.
        """
        now = self.clock()
        with self._lock:
            cached = self._cache.get(audience)
        if cached is not None and cached[1] - now > REFRESH_MARGIN_S:
            return cached[0]
        minted = self._mint(audience)
        # a service (or a proxy's debug page) may echo the Authorization header back:
        # every output of this run masks the token (and its signature part) from now on
        remember(minted)
        with self._lock:
            self._cache[audience] = (minted, _expiry(minted, default=now + 300))
        return minted

    def _mint(self, audience: str) -> str:
        kind = self.kind
        if kind in ("service_account", "compute_engine"):
            return self._own_token(audience)
        if kind == "anonymous":
            raise CredentialsError(
                "anonymous credentials cannot mint ID tokens; run "
                "`gcloud auth application-default login`"
            )
        target = self.target_account()
        if target is None:
            if kind in ("authorized_user", "external_account"):
                raise ConfigError(
                    f"{kind} credentials cannot mint an ID token themselves: set "
                    "profiles.<profile>.invoker_service_account in nbaops.yaml to a service "
                    "account you hold roles/iam.serviceAccountTokenCreator on"
                )
            raise IdTokenError(
                f"credentials of type {type(self.credentials).__name__} cannot mint ID tokens"
            )
        source = self.credentials
        delegates: list[str] = []
        if kind == "impersonated":
            source = self.credentials._source_credentials
            delegates = list(self.credentials._delegates or [])
        return generate_id_token(
            source,
            target,
            audience,
            delegates=delegates,
            endpoint=self.iam_endpoint,
            timeout_s=self.timeout_s,
        )

    def _own_token(self, audience: str) -> str:
        """A token the credentials mint themselves: a service account key signs it, a
        Compute Engine credential asks the metadata server's identity endpoint."""
        from google.auth import compute_engine
        from google.oauth2 import service_account

        request = auth_request(self.timeout_s)  # bounded like the IAM path
        creds = self.credentials
        id_creds: Any
        if self.kind == "service_account":
            api = "OAuth token endpoint"
            id_creds = service_account.IDTokenCredentials(  # type: ignore[no-untyped-call]
                creds.signer,
                creds.service_account_email,
                creds._token_uri,
                target_audience=audience,
                quota_project_id=creds.quota_project_id,
            )
        else:
            api = "metadata server"
            id_creds = compute_engine.IDTokenCredentials(  # type: ignore[no-untyped-call]
                request, audience, use_metadata_identity_endpoint=True
            )
        refresh = functools.partial(id_creds.refresh, request)
        google_call(api, f"ID token for {audience}", refresh, error=IdTokenError)
        return str(id_creds.token)
