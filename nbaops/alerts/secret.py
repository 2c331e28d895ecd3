"""A string that never shows itself: the Slack webhook URL is a credential.

Anyone holding an incoming-webhook URL can post to the channel, so the URL is wrapped in
:class:`Secret` as soon as it is read (environment, file or Secret Manager). ``str()``,
``repr()`` and f-strings print ``***``; only :meth:`Secret.reveal` returns the value, and
only the HTTP call uses it. Error texts from HTTP libraries can embed the URL, so every
message that leaves this package goes through :func:`redact` first.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

MASK = "***"

# Any Slack webhook-looking URL, even one we were not told about (e.g. a stale one in an
# error message from a proxy).
_SLACK_HOOK = re.compile(r"https?://hooks\.slack(?:-gov)?\.com/\S*", re.IGNORECASE)


class Secret:
    """A secret string whose ``str``/``repr`` are redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value. Use it only to make the call that needs it."""
        return self._value

    def fragments(self) -> list[str]:
        """Pieces of the value that must never appear in output (the URL, its path, token)."""
        value = self._value
        pieces = {value, value.rstrip("/"), quote(value, safe=""), quote(value, safe="/:")}
        parts = urlsplit(value)
        if parts.path and parts.path != "/":
            pieces.add(parts.path)
            pieces.update(seg for seg in parts.path.split("/") if len(seg) >= 8)
        if parts.query:
            pieces.add(parts.query)
        return sorted((p for p in pieces if len(p) >= 6), key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:  # never pickle the value by accident
        raise TypeError("Secret cannot be pickled")


def redact(text: str, *secrets: Secret | None) -> str:
    """``text`` with every fragment of ``secrets`` and any Slack hook URL replaced by ``***``."""
    for secret in secrets:
        if secret is None:
            continue
        for fragment in secret.fragments():
            text = text.replace(fragment, MASK)
    return _SLACK_HOOK.sub(f"https://hooks.slack.com/{MASK}", text)
