"""Slack incoming webhooks: render alerts as Block Kit and post them.

The message says what failed, the value against its threshold, who owns the service and
where its runbook is. The post uses the standard library (``urllib``) on purpose: it
logs nothing, so the webhook URL cannot leak through a library's debug log (urllib3
logs request paths, and a webhook's path is its token). Every error message is redacted.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from nbaops.alerts.events import AlertEvent, AlertKind
from nbaops.alerts.secret import Secret, redact
from nbaops.errors import AdapterError
from nbaops.redact import has_control_characters
from nbaops.report import format_value
from nbaops.verdict import Verdict

MAX_BLOCKS = 50  # Slack's limit per message
# Slack answers a failed webhook post with a short error code in plain text.
_SLACK_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
MAX_SECTION_CHARS = 2900  # section text limit is 3000

_EMOJI = {
    Verdict.FAIL: ":red_circle:",
    Verdict.ERROR: ":rotating_light:",
    Verdict.INCONCLUSIVE: ":grey_question:",
    Verdict.WARN: ":large_yellow_circle:",
    Verdict.PASS: ":large_green_circle:",
}
_KIND_EMOJI = {
    AlertKind.RECOVERED: ":white_check_mark:",
    AlertKind.DEPLOY: ":rocket:",
    AlertKind.ROLLBACK: ":rewind:",
    AlertKind.TEST: ":wave:",
    AlertKind.INFO: ":information_source:",
}


class SlackDeliveryError(AdapterError):
    """The webhook post failed (HTTP error, timeout, network). The message is redacted."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _emoji(event: AlertEvent) -> str:
    kind = str(event.kind)
    if kind in _KIND_EMOJI:
        return _KIND_EMOJI[AlertKind(kind)]
    if event.verdict is not None:
        return _EMOJI[event.verdict]
    return ":bell:"


def _link(target: str) -> str:
    if target.startswith(("https://", "http://")):
        return f"<{target}|{escape(target.rsplit('/', 1)[-1])}>"
    return f"`{escape(target)}`"


def event_text(event: AlertEvent) -> str:
    """The mrkdwn body of one event's section."""
    lines = [f"{_emoji(event)} *{escape(event.title)}*"]
    if event.verdict is not None and (event.value is not None or event.threshold):
        threshold = f" vs threshold `{escape(event.threshold)}`" if event.threshold else ""
        lines.append(f"value *{escape(format_value(event.value))}*{threshold}")
    if event.text:
        lines.append(escape(event.text))
    facts = [f"{escape(k)}: `{escape(v)}`" for k, v in event.fields.items()]
    if facts:
        lines.append(" · ".join(facts))
    who: list[str] = []
    if event.service:
        who.append(f"service `{escape(event.service)}`")
    if event.owner:
        who.append(f"owner {escape(event.owner)}")
    if event.runbook:
        who.append(f"runbook {_link(event.runbook)}")
    if who:
        lines.append(" · ".join(who))
    text = "\n".join(lines)
    if len(text) > MAX_SECTION_CHARS:
        text = text[: MAX_SECTION_CHARS - 1] + "…"
    return text


def build_message(events: Sequence[AlertEvent], *, headline: str, context: str) -> dict[str, Any]:
    """A Block Kit payload: header, context line, one section per event (within Slack's limits).

    ``text`` is the notification fallback (what phones and screen readers show).
    """
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150], "emoji": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(context)}]},
    ]
    room = MAX_BLOCKS - len(blocks) - 1
    shown = events if len(events) <= room else events[: room - 1]
    for event in shown:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": event_text(event)}})
    hidden = len(events) - len(shown)
    if hidden:
        more = f"…and {hidden} more; see the run's JSON output or the check_results table."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {"text": headline, "blocks": blocks}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post(webhook: Secret, payload: dict[str, Any], *, timeout_s: float = 10.0) -> None:
    """POST ``payload`` to the webhook.

    Raises:
        SlackDeliveryError: non-2xx reply, timeout or network error; the message never
            contains the URL.
    """
    url = webhook.reveal()
    if has_control_characters(url):
        # urllib's error would echo the URL (and so the token): refuse before any call.
        raise SlackDeliveryError(
            "the Slack webhook holds a control character; run `inv slack.configure` again"
        )
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    # A local test server must not be sent through an HTTP proxy from the environment.
    handlers: list[urllib.request.BaseHandler] = []
    if _is_loopback(urlsplit(url).hostname):
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    failure: SlackDeliveryError | None = None
    try:
        with opener.open(request, timeout=timeout_s) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        # The body is shown only when it is one of Slack's error codes ("invalid_token",
        # "no_service"): any other body could echo the URL, so it is never printed.
        body = ""
        try:
            body = exc.read(64).decode("utf-8", "replace").strip()
        except Exception:  # the body is only decoration for the message
            body = ""
        detail = f": {body}" if _SLACK_ERROR_CODE.match(body) else ""
        message = redact(f"Slack webhook returned HTTP {exc.code}{detail}", webhook)
        failure = SlackDeliveryError(message, status=exc.code)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        failure = SlackDeliveryError(redact(f"Slack webhook unreachable: {reason}", webhook))
    if failure is not None:
        # Raised outside the except block: no chained exception carries the URL along.
        raise failure
