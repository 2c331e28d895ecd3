"""Slack incoming webhooks: render alerts as Block Kit and post them.

The message says what failed, the value against its threshold, who owns the service and
where its runbook is. The post itself is :func:`nbaops.adapters.slack.post` (stdlib HTTP,
every error message redacted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbaops.alerts.events import AlertEvent, AlertKind
from nbaops.redact import Secret, redact
from nbaops.report import value_text
from nbaops.verdict import Verdict

MAX_BLOCKS = 50  # Slack's limit per message
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


def escape(text: str) -> str:
    """``text`` redacted, then with the three characters Slack mrkdwn treats as control
    characters escaped. Redaction comes first: ``&amp;``, ``&lt;`` and ``&gt;`` split a
    secret holding ``&``, ``<`` or ``>`` into pieces too short for it to recognise."""
    return redact(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
        lines.append(f"value *{escape(value_text(event.value, event.unit))}*{threshold}")
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
    return _cut("\n".join(lines), MAX_SECTION_CHARS)


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending in "…" when cut; never inside an
    ``&amp;`` escape or a ``<link|label>`` (the data's ``&``, ``<`` and ``>`` are escaped,
    so every ``&`` outside a link's URL starts an escape and every ``<`` a link)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("&") > max(cut.rfind(";"), cut.rfind(">")):
        cut = cut[: cut.rfind("&")]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut + "…"


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


def post(webhook: Secret, payload: dict[str, Any], *, timeout_s: float = 10.0) -> None:
    """POST ``payload`` to the webhook (:mod:`nbaops.adapters.slack`), errors redacted.

    Raises:
        SlackDeliveryError: non-2xx reply, timeout or network error; never the URL.
    """
    from nbaops.adapters import slack as api

    api.post(
        webhook.reveal(), payload, scrub=lambda text: redact(text, webhook), timeout_s=timeout_s
    )
