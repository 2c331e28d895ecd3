"""IAM Credentials API adapter (``google.cloud.iam_credentials_v1``, REST transport).

``projects.serviceAccounts.generateIdToken`` mints an OpenID Connect ID token *for* a
service account, authorized by the caller's own credentials; the caller needs
``iam.serviceAccounts.getOpenIdToken`` on that account (``roles/iam.serviceAccountTokenCreator``).
This is how credentials that cannot sign an ID token themselves (user ADC =
``authorized_user``, Workload Identity = ``external_account``, impersonated credentials)
get one. The resource name is ``projects/-/serviceAccounts/EMAIL`` (the ``-`` wildcard is
required by the API). Local profile and tests: the stand-in's ``http://127.0.0.1:PORT``
as ``api_endpoint``; the same client, the same request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import google_call, transient_retry
from nbaops.errors import AdapterError

API = "IAM Credentials"


class IamCredentialsError(AdapterError):
    """An IAM Credentials API call failed."""


def service_account_resource(email: str) -> str:
    """``projects/-/serviceAccounts/EMAIL`` (a full resource name is kept as is)."""
    return email if email.startswith("projects/") else f"projects/-/serviceAccounts/{email}"


def generate_id_token(
    credentials: Any,
    service_account: str,
    audience: str,
    *,
    delegates: Sequence[str] = (),
    endpoint: str | None = None,
    timeout_s: float = 30.0,
) -> str:
    """An ID token for ``service_account`` with ``aud`` = ``audience`` (email included).

    Args:
        credentials: google-auth credentials that authorize the call (their access token).
        endpoint: ``http://127.0.0.1:PORT`` for the stand-in; None for the real API.
        timeout_s: the call's timeout, retries included (generateIdToken's default
            retry re-sends a 503 for 60 s whatever the per-request timeout).

    Raises:
        CredentialsError: the caller's credentials are missing or refused.
        PermissionDeniedError: the caller may not mint tokens for this account.
        NotFoundError: no such service account.
        IamCredentialsError: any other failure.
    """
    from google.cloud import iam_credentials_v1

    def call() -> Any:
        client = iam_credentials_v1.IAMCredentialsClient(**client_kwargs(endpoint, credentials))
        return client.generate_id_token(
            name=service_account_resource(service_account),
            delegates=[service_account_resource(d) for d in delegates],
            audience=audience,
            include_email=True,
            timeout=timeout_s,
            retry=transient_retry(timeout_s),
        )

    response = google_call(
        API,
        f"generateIdToken for {service_account}",
        call,
        error=IamCredentialsError,
        timeout_s=timeout_s,
    )
    return str(response.token)
