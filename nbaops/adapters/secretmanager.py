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
"""

from __future__ import annotations

import contextlib
from typing import Any

from nbaops.adapters.credentials import client_kwargs
from nbaops.errors import AdapterError


class SecretChecksumError(AdapterError):
    """An AccessSecretVersion reply whose payload does not match its ``dataCrc32c``:
    corrupted on the way, never used (the message holds no payload)."""


def crc32c(data: bytes) -> int:
    """The CRC32C (Castagnoli) checksum Secret Manager keeps in ``data_crc32c``."""
    import google_crc32c

    return int(google_crc32c.value(data))


class SecretManager:
    """One project's secrets."""

    def __init__(self, project: str, *, endpoint: str | None = None, credentials: Any = None):
        self.project = project
        self.endpoint = endpoint
        self.credentials = credentials

    def _client(self) -> Any:
        from google.cloud import secretmanager  # lazy: ~0.4 s import

        return secretmanager.SecretManagerServiceClient(
            **client_kwargs(self.endpoint, self.credentials)
        )

    def secret_name(self, secret_id: str) -> str:
        return f"projects/{self.project}/secrets/{secret_id}"

    def read_latest(self, secret_id: str) -> bytes | None:
        """The latest version's payload, None when the secret or version does not exist.

        Raises:
            SecretChecksumError: the reply's payload does not match its ``dataCrc32c``.
            Exception: the client's other exceptions (callers redact them).
        """
        from google.api_core import exceptions as gexc

        name = f"{self.secret_name(secret_id)}/versions/latest"
        try:
            reply = self._client().access_secret_version(name=name, timeout=30.0)
        except gexc.NotFound:
            return None
        data = bytes(reply.payload.data)
        if "data_crc32c" in reply.payload and reply.payload.data_crc32c != crc32c(data):
            raise SecretChecksumError(
                f"{reply.name or name}: the payload does not match its CRC32C checksum "
                "(corrupted in transit); not used, run again"
            )
        return data

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
            client.add_secret_version(parent=parent, payload=payload, timeout=30.0)
            return
        except gexc.NotFound:
            pass  # no such secret yet: create it, then add
        with contextlib.suppress(gexc.Conflict):  # 409: created since our add (a race)
            client.create_secret(
                parent=f"projects/{self.project}",
                secret_id=secret_id,
                secret={"replication": {"automatic": {}}, "labels": labels},
                timeout=30.0,
            )
        client.add_secret_version(parent=parent, payload=payload, timeout=30.0)
