"""Slack incoming-webhook adapter: POST a message to a webhook, nothing else.

The standard library (``urllib``) on purpose: it logs nothing, so the webhook URL cannot
leak through a library's debug log (urllib3 logs request paths, and a webhook's path is
its token). Every error message is redacted; a loopback URL (tests) bypasses proxies.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

from nbaops.adapters.stdlib_http import send
from nbaops.errors import AdapterError
from nbaops.redact import has_control_characters

# Slack answers a failed webhook post with a short error code in plain text.
_SLACK_ERROR_CODE = re.compile(r"^[a-z_]{1,40}\Z")


class SlackDeliveryError(AdapterError):
    """The webhook post failed (HTTP error, timeout, network). The message is redacted."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def post(
    url: str, payload: dict[str, Any], *, scrub: Callable[[str], str], timeout_s: float = 10.0
) -> None:
    """POST ``payload`` to the webhook ``url``; ``scrub`` removes the URL from messages.

    Raises:
        SlackDeliveryError: non-2xx reply, timeout or network error; the message never
            contains the URL.
    """
    if has_control_characters(url):
        # urllib's error would echo the URL (and so the token): refuse before any call.
        raise SlackDeliveryError(
            "the Slack webhook holds a control character; run `inv slack.configure` again"
        )
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        status, reply = send(request, timeout_s)
    except (TimeoutError, ConnectionError) as exc:
        failure = SlackDeliveryError(scrub(f"Slack webhook unreachable: {exc}"))
    else:
        if 200 <= status < 300:
            return
        # The body is shown only when it is one of Slack's error codes ("invalid_token",
        # "no_service"): any other body could echo the URL, so it is never printed.
        body = reply[:64].decode("utf-8", "replace").strip()
        detail = f": {body}" if _SLACK_ERROR_CODE.match(body) else ""
        failure = SlackDeliveryError(scrub(f"Slack webhook returned HTTP {status}{detail}"), status)
    # Raised outside the except block: no chained exception carries the URL along.
    raise failure
