"""Secret Manager adapter (``google.cloud.secretmanager``, REST transport).

Reads the latest version of a secret and adds versions (creating the secret on first
write). Values travel as bytes and are never part of a message: callers wrap them (the
Slack webhook becomes a :class:`~nbaops.redact.Secret` at once) and redact errors.
``endpoint`` points the client at a local server (anonymous credentials unless given).

Permissions (https://cloud.google.com/iam/docs/roles-permissions/secretmanager):
AddSecretVersion needs ``secretmanager.versions.add`` (all that
``roles/secretmanager.secretVersionAdder`` grants); CreateSecret needs
``secretmanager.secrets.create`` (``roles/secretmanager.admin``); AccessSecretVersion
needs ``secretmanager.versions.access`` (all that ``roles/secretmanager.secretAccessor``
grants: no ``versions.list``, no ``versions.get``). Google's definitions of the calls:
``google/cloud/secretmanager/v1/service.proto`` in github.com/googleapis/googleapis.

Checksums (https://cloud.google.com/secret-manager/docs/data-integrity;
``SecretPayload.data_crc32c`` in ``resources.proto``, int64, a string in JSON): a version
is added with the CRC32C of its data, which the service verifies; an AccessSecretVersion
reply carries the stored checksum, checked here before the payload is used.

``versions/latest`` is "an alias to the most recently created SecretVersion"
(``service.proto``), whatever its state; a version that is not ``ENABLED`` "may not be
accessed" (``resources.proto``): AccessSecretVersion answers 400 ``FAILED_PRECONDITION``
("Secret Version [.../versions/4] is in DISABLED state."), raised here as
:class:`SecretVersionStateError` (see :meth:`SecretManager.read_latest`).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from nbaops.adapters.credentials import client_kwargs
from nbaops.adapters.errors import api_error_text, error_status, transient_retry
from nbaops.errors import EXIT_USAGE, AdapterError

# Google's FAILED_PRECONDITION text for a version that is not ENABLED (not a contract:
# without a match the error says "not ENABLED" and names no version).
_STATE_TEXT = re.compile(r"versions/([^/\]\s]+)\] is in ([A-Z_]+) state")


class SecretChecksumError(AdapterError):
    """An AccessSecretVersion reply whose payload does not match its ``dataCrc32c``:
    corrupted on the way, never used (the message holds no payload)."""


class SecretVersionStateError(AdapterError):
    """The ``latest`` version exists but is DISABLED or DESTROYED: a configuration to fix
    (exit 2), not an outage. ``version`` is '' and ``state`` "not ENABLED" when Google's
    message does not name them."""

    exit_code = EXIT_USAGE

    def __init__(self, secret_id: str, version: str, state: str) -> None:
        which = f"latest version ({version})" if version else "latest version"
        super().__init__(
            f"the {which} of secret {secret_id} is {state} "
            "(`latest` always names the newest version, whatever its state)"
        )
        self.secret_id = secret_id
        self.version = version
        self.state = state


def crc32c(data: bytes) -> int:
    """The CRC32C (Castagnoli) checksum Secret Manager keeps in ``data_crc32c``."""
    import google_crc32c

    return int(google_crc32c.value(data))


def _failed_precondition(exc: BaseException) -> bool:
    """400 ``FAILED_PRECONDITION``: gRPC raises FailedPrecondition; the REST transport
    raises BadRequest for every 400, the status is in the reply's ``error.status``."""
    from google.api_core import exceptions as gexc

    return isinstance(exc, gexc.FailedPrecondition) or (
        isinstance(exc, gexc.BadRequest) and error_status(exc) == "FAILED_PRECONDITION"
    )


class SecretManager:
    """One project's secrets; each call ends within ``timeout_s``, retries included."""

    def __init__(
        self,
        project: str,
        *,
        endpoint: str | None = None,
        credentials: Any = None,
        timeout_s: float = 30.0,
    ):
        self.project = project
        self.endpoint = endpoint
        self.credentials = credentials
        self.timeout_s = timeout_s

    def _client(self) -> Any:
        from google.cloud import secretmanager  # lazy: ~0.4 s import

        return secretmanager.SecretManagerServiceClient(
            **client_kwargs(self.endpoint, self.credentials)
        )

    def secret_name(self, secret_id: str) -> str:
        return f"projects/{self.project}/secrets/{secret_id}"

    def read_latest(self, secret_id: str) -> bytes | None:
        """The latest version's payload, None when the secret or version does not exist.

        A ``latest`` that is DISABLED or DESTROYED is an error naming the state and the
        fix; there is deliberately no fallback to the newest ENABLED version: listing
        versions needs ``secretmanager.versions.list``, which the reader's
        ``secretAccessor`` role does not grant (the fallback would fail exactly where it
        is needed), and a version is often disabled to revoke a leaked value, after
        which quietly using an older one is the wrong guess (for the Slack webhook:
        posting to a URL the team meant to retire). Rolling back is adding the previous
        value as a new version, or enabling the disabled one again; the caller's message
        says so (:mod:`nbaops.alerts.webhook_store`).

        Raises:
            SecretVersionStateError: the latest version is not ENABLED.
            SecretChecksumError: the reply's payload does not match its ``dataCrc32c``.
            Exception: the client's other exceptions (callers redact them).
        """
        from google.api_core import exceptions as gexc

        name = f"{self.secret_name(secret_id)}/versions/latest"
        # the default retry re-sends a 429 or 503 for 60 s whatever the timeout: bounded
        retry = transient_retry(self.timeout_s, gexc.ResourceExhausted)
        try:
            reply = self._client().access_secret_version(
                name=name, timeout=self.timeout_s, retry=retry
            )
        except gexc.NotFound:
            return None
        except gexc.GoogleAPICallError as exc:
            if _failed_precondition(exc):
                raise self._state_error(secret_id, exc) from None
            raise
        data = bytes(reply.payload.data)
        if "data_crc32c" in reply.payload and reply.payload.data_crc32c != crc32c(data):
            raise SecretChecksumError(
                f"{reply.name or name}: the payload does not match its CRC32C checksum "
                "(corrupted in transit); not used, run again"
            )
        return data

    def _state_error(self, secret_id: str, exc: BaseException) -> SecretVersionStateError:
        match = _STATE_TEXT.search(api_error_text(exc))
        if match is None:
            return SecretVersionStateError(secret_id, "", "not ENABLED")
        return SecretVersionStateError(secret_id, match.group(1), match.group(2))

    def add_version(self, secret_id: str, data: bytes, *, labels: dict[str, str]) -> None:
        """Add a version (with its CRC32C, which the service verifies); create the secret
        (automatic replication, ``labels``) only when the add answers NOT_FOUND.

        AddSecretVersion comes first: it needs only ``secretmanager.versions.add``
        (``roles/secretmanager.secretVersionAdder``), while CreateSecret needs
        ``secretmanager.secrets.create`` and answers 403 to that role even when the
        secret exists. A 409 from the create (someone created it meanwhile) is fine.

        Raises: the client's exceptions (callers redact them).
        """
        from google.api_core import exceptions as gexc

        client = self._client()
        payload = {"data": data, "data_crc32c": crc32c(data)}
        parent = self.secret_name(secret_id)
        try:
            client.add_secret_version(parent=parent, payload=payload, timeout=self.timeout_s)
            return
        except gexc.NotFound:
            pass  # no such secret yet: create it, then add
        with contextlib.suppress(gexc.Conflict):  # 409: created since our add (a race)
            client.create_secret(
                parent=f"projects/{self.project}",
                secret_id=secret_id,
                secret={"replication": {"automatic": {}}, "labels": labels},
                timeout=self.timeout_s,
            )
        client.add_secret_version(parent=parent, payload=payload, timeout=self.timeout_s)
