"""Secret Manager adapter (``google.cloud.secretmanager``, REST transport).

Reads the latest version of a secret and adds versions (creating the secret on first
write). Values travel as bytes and are never part of a message: callers wrap them (the
Slack webhook becomes a :class:`~nbaops.redact.Secret` at once) and redact errors.
``endpoint`` points the client at a local server (anonymous credentials unless given).
"""

from __future__ import annotations

import contextlib
from typing import Any

from nbaops.adapters.credentials import client_kwargs


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

        Raises: the client's exceptions (callers redact them).
        """
        from google.api_core import exceptions as gexc

        try:
            reply = self._client().access_secret_version(
                name=f"{self.secret_name(secret_id)}/versions/latest", timeout=30.0
            )
        except gexc.NotFound:
            return None
        return bytes(reply.payload.data)

    def add_version(self, secret_id: str, data: bytes, *, labels: dict[str, str]) -> None:
        """Add a version, creating the secret (automatic replication) when missing.

        Raises: the client's exceptions (callers redact them).
        """
        from google.api_core import exceptions as gexc

        client = self._client()
        with contextlib.suppress(gexc.Conflict):  # 409 ALREADY_EXISTS: created before
            client.create_secret(
                parent=f"projects/{self.project}",
                secret_id=secret_id,
                secret={"replication": {"automatic": {}}, "labels": labels},
                timeout=30.0,
            )
        client.add_secret_version(
            parent=self.secret_name(secret_id), payload={"data": data}, timeout=30.0
        )
