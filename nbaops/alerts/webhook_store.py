"""Where the Slack webhook URL lives, and ``inv slack.configure``.

Reading order: the ``SLACK_WEBHOOK_URL`` environment variable (CI, Cloud Run jobs), then
the profile's store:

- **prod**: Google Secret Manager, secret ``alerts.slack_secret`` (default
  ``nbaops-slack-webhook``) in the profile's project, version ``latest``
  (:mod:`nbaops.adapters.secretmanager`). ``latest`` is always the newest version: when
  it is DISABLED or DESTROYED the read fails with :class:`DisabledVersionError` (exit 2,
  the fix named), never falling back to an older version.
- **local**: ``<state folder>/secrets/slack-webhook``, mode 0600 in a 0700 folder.

The URL is wrapped in :class:`~nbaops.redact.Secret` the moment it is read and is
never printed, logged or put in an exception message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from nbaops.adapters.stdlib_http import is_loopback
from nbaops.environment import read
from nbaops.errors import EXIT_USAGE, AdapterError, UsageError, first_line
from nbaops.fsutil import read_regular, write_text_atomic
from nbaops.redact import Secret, has_control_characters, redact

if TYPE_CHECKING:
    from nbaops.context import Context

ENV_VAR = "SLACK_WEBHOOK_URL"
# A Secret Manager endpoint (e.g. a local test server, anonymous credentials), like
# NBAOPS_BQ_ENDPOINT for the warehouse. Unset: Google's endpoint with ADC.
ENDPOINT_ENV = "NBAOPS_SECRETMANAGER_ENDPOINT"
LOCAL_FILE = Path("secrets") / "slack-webhook"
# The stored URL is one line of about 80 characters: a larger file is not one
# (read_regular reads at most this much, and never a FIFO or a device).
MAX_FILE_BYTES = 64 * 1024
# A Slack incoming-webhook URL is about 80 characters; piped input is read no further than
# this (a pipe from /dev/zero was read until memory ran out).
MAX_URL_CHARS = 2048
_TOO_LONG = (
    f"the Slack webhook URL is longer than {MAX_URL_CHARS} characters (not shown: it is a secret)"
)


class SecretStoreError(AdapterError):
    """Reading or writing the webhook store failed (message redacted)."""


class InvalidWebhookError(SecretStoreError):
    """The configured webhook ($SLACK_WEBHOOK_URL or the store) is not one nbaops posts to:
    a configuration to fix (exit 2), not an outage."""

    exit_code = EXIT_USAGE


class DisabledVersionError(SecretStoreError):
    """The secret's ``latest`` version is DISABLED or DESTROYED (a rollback done by
    disabling the newest version): a configuration to fix (exit 2), named with the fix."""

    exit_code = EXIT_USAGE


def validate_webhook(value: str) -> Secret:
    """Wrap a webhook URL after checking its shape; the error never echoes the value.

    HTTPS is required; plain HTTP only to a loopback host (local test receivers).

    Raises:
        UsageError: empty or not an http(s) URL with a host.
    """
    text = value.strip()
    if not text:
        raise UsageError("no Slack webhook URL given (empty input)")
    if len(text) > MAX_URL_CHARS:
        raise UsageError(_TOO_LONG)
    if has_control_characters(text) or any(c.isspace() for c in text):
        raise UsageError(
            "the Slack webhook URL contains a space or control character "
            "(not shown: it is a secret)"
        )
    try:
        text.encode("utf-8")
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # ValueError for "host:abc" or a port out of range
    except (UnicodeError, ValueError):  # undecodable bytes; "https://[::1/..."; a bad port
        raise UsageError(
            "the Slack webhook URL is not a valid URL (not shown: it is a secret)"
        ) from None
    if (parts.scheme == "https" and host) or (parts.scheme == "http" and is_loopback(host)):
        return Secret(text)
    raise UsageError(
        "the Slack webhook must be an https:// URL (http:// only to 127.0.0.1); "
        "the value given is not (not shown: it is a secret)"
    )


class WebhookStore(Protocol):
    where: str

    def load(self) -> Secret | None: ...

    def save(self, secret: Secret) -> None: ...


class FileWebhookStore:
    """The local profile's store: one file, mode 0600, in a 0700 folder under the state folder."""

    def __init__(self, home: Path) -> None:
        self.path = home / LOCAL_FILE
        self.where = str(self.path)

    def load(self) -> Secret | None:
        try:
            data, _size = read_regular(self.path, MAX_FILE_BYTES)
            if len(data) > MAX_FILE_BYTES:
                raise SecretStoreError(
                    f"cannot read {self.path}: larger than {MAX_FILE_BYTES} bytes"
                )
            text = data.decode("utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretStoreError(f"cannot read {self.path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SecretStoreError(f"cannot read {self.path}: not UTF-8 text") from None
        return _usable(text, self.where) if text else None

    def save(self, secret: Secret) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        # mkstemp creates the file 0600 from the start: the value never sits in a
        # world-readable file, not even for a moment.
        write_text_atomic(self.path, secret.reveal() + "\n", mode=0o600)


class SecretManagerWebhookStore:
    """The prod store: a Secret Manager secret; ``save`` adds a new version."""

    def __init__(self, project: str, secret_id: str, endpoint: str | None) -> None:
        self.project = project
        self.secret_id = secret_id
        self.endpoint = endpoint
        self.where = f"Secret Manager projects/{project}/secrets/{secret_id}"

    def _api(self) -> Any:
        from nbaops.adapters.secretmanager import SecretManager

        return SecretManager(self.project, endpoint=self.endpoint)

    def load(self) -> Secret | None:
        from nbaops.adapters.secretmanager import SecretVersionStateError

        try:
            data = self._api().read_latest(self.secret_id)
        except SecretVersionStateError as exc:
            which = f"version {exc.version}" if exc.version else "it"
            again = "" if exc.state == "DESTROYED" else f"enable {which} again or "
            raise DisabledVersionError(
                f"cannot read {self.where}: {exc}: {again}store the webhook anew with "
                "`inv slack.configure`"
            ) from None
        except Exception as exc:
            text = redact(first_line(exc))
            raise SecretStoreError(f"cannot read {self.where}: {text}") from None
        try:
            value = data.decode("utf-8").strip() if data is not None else ""
        except UnicodeDecodeError:
            raise SecretStoreError(f"cannot read {self.where}: not UTF-8 text") from None
        return _usable(value, self.where) if value else None

    def save(self, secret: Secret) -> None:
        failure: str | None = None
        try:
            self._api().add_version(
                self.secret_id, secret.reveal().encode("utf-8"), labels={"managed-by": "nbaops"}
            )
        except Exception as exc:
            first = first_line(exc)
            failure = redact(f"cannot write {self.where}: {first}", secret)
        if failure is not None:
            raise SecretStoreError(failure)


def _usable(value: str, where: str) -> Secret:
    """A stored or configured webhook, checked like ``slack.configure`` checks its input:
    a value changed by hand (plain http to a remote host, a typo) is never posted to.

    Raises:
        InvalidWebhookError: the value is not a usable webhook (why, never the value).
    """
    try:
        return validate_webhook(value)
    except UsageError as exc:
        raise InvalidWebhookError(f"{where}: {exc}") from None


def open_store(ctx: Context) -> WebhookStore:
    """The profile's webhook store (local file or Secret Manager)."""
    if ctx.is_local:
        return FileWebhookStore(ctx.home)
    from nbaops.alerts.settings import AlertSettings

    settings = ctx.config.settings("alerts", AlertSettings)
    project = ctx.config.profile.project
    return SecretManagerWebhookStore(project, settings.slack_secret, read(ENDPOINT_ENV))


def resolve_webhook(ctx: Context) -> tuple[Secret | None, str]:
    """The webhook to post to and where it came from: ``SLACK_WEBHOOK_URL``, then the store.

    Raises:
        SecretStoreError: the store could not be read, or the value is not a usable webhook
            (not https, plain http to a remote host, not a URL).
    """
    env = (read(ENV_VAR) or "").strip()
    if env:
        return _usable(env, f"${ENV_VAR}"), f"${ENV_VAR}"
    store = open_store(ctx)
    return store.load(), store.where


def configured(ctx: Context) -> bool:
    """Whether a webhook is configured at all (set or stored), without reading it: on the
    local profile none means alerts only go to the outbox."""
    if (read(ENV_VAR) or "").strip():
        return True
    store = open_store(ctx)
    return not isinstance(store, FileWebhookStore) or os.path.lexists(store.path)


def read_url_input(*, from_env: bool = False) -> Secret:
    """Read a webhook URL without it touching the command line or the screen.

    ``from_env``: take ``SLACK_WEBHOOK_URL``. Otherwise a hidden prompt on a terminal, or
    one line from piped stdin (``printf %s "$URL" | inv slack.configure``).

    Raises:
        UsageError: nothing given or not a webhook URL.
    """
    if from_env:
        value = read(ENV_VAR) or ""
        if not value.strip():
            raise UsageError(f"--from-env: ${ENV_VAR} is not set")
        return validate_webhook(value)
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        value = getpass.getpass("Slack incoming webhook URL (input hidden): ")
    else:
        value = sys.stdin.readline(MAX_URL_CHARS + 1) if sys.stdin is not None else ""
        if len(value) > MAX_URL_CHARS and not value.endswith("\n"):  # the line goes on
            raise UsageError(_TOO_LONG)
    return validate_webhook(value)
