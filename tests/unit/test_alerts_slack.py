"""Slack rendering (Block Kit) and the Secret type that keeps the webhook out of output."""

from __future__ import annotations

import logging
import pickle

import pytest

from nbaops.alerts.events import AlertEvent, AlertKind, AlertSummary
from nbaops.alerts.slack import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    build_message,
    escape,
    event_text,
)
from nbaops.alerts.webhook_store import validate_webhook
from nbaops.errors import UsageError
from nbaops.redact import Secret, redact
from nbaops.verdict import Verdict

URL = "https://hooks.slack.com/services/T0NBAOPS1/B0NBAOPS2/s3cr3tT0kenValue123"


def failing_event() -> AlertEvent:
    return AlertEvent(
        kind=AlertKind.FAILING,
        title="lines_coverage FAIL",
        text="coverage 62.0% < 90% (FAIL): 41 of 108 players without a line; worst LAL@BOS 8/22",
        service="phase4-processors",
        verdict=Verdict.FAIL,
        check="lines_coverage",
        value=0.62,
        threshold="FAIL < 90%, WARN < 95%",
        owner="@nba-data-eng",
        runbook="docs/runbooks/phase4-processors.md",
    )


def test_message_names_what_failed_value_threshold_owner_and_runbook() -> None:
    payload = build_message([failing_event()], headline="nbaops prod: 1 check failing", context="x")
    assert payload["text"] == "nbaops prod: 1 check failing"
    assert payload["blocks"][0]["type"] == "header"
    body = payload["blocks"][2]["text"]["text"]
    assert payload["blocks"][2]["text"]["type"] == "mrkdwn"
    assert "*lines_coverage FAIL*" in body
    assert "value *0.62* vs threshold `FAIL &lt; 90%, WARN &lt; 95%`" in body
    assert "owner @nba-data-eng" in body
    assert "runbook `docs/runbooks/phase4-processors.md`" in body
    assert "LAL@BOS 8/22" in body


def test_a_check_alert_states_the_value_with_its_unit() -> None:
    """ "value *439.6* vs threshold `FAIL age > 6h`" read as 439.6 hours, or nothing: the
    value carries its unit as every report shows it (minutes here)."""
    from nbaops.alerts import check_event
    from nbaops.verdict import CheckResult

    stale = CheckResult(
        "processor_heartbeats", "phase3-processors", Verdict.FAIL, 439.6,
        "FAIL age > 6h, WARN age > 2h", "player_game_summary_processor 7.3h ago", unit="min",
    )  # fmt: skip
    assert "value *439.6 min* vs threshold `FAIL age &gt; 6h" in event_text(check_event(stale))
    share = CheckResult("lines_coverage", "p4", Verdict.FAIL, 59.72, "FAIL < 90%", "m", unit="%")
    assert "value *59.72%* vs threshold" in event_text(check_event(share, recovered=True))


def test_runbook_url_becomes_a_link() -> None:
    event = AlertEvent(kind="failing", title="t", text="", runbook="https://x.test/r/a.md")
    assert "<https://x.test/r/a.md|a.md>" in event_text(event)


def test_mrkdwn_control_characters_are_escaped() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    event = AlertEvent(kind="info", title="<!channel>", text="<@U123>")
    assert "<!channel>" not in event_text(event) and "<@U123>" not in event_text(event)


@pytest.mark.parametrize("pad", range(2700, 2900))
def test_a_long_section_is_cut_between_escapes_and_links_not_inside_them(pad: int) -> None:
    """Cut at Slack's limit, a section ended in ``&am…`` (shown as text) or in an unclosed
    ``<https://...`` link (shown raw): the cut now falls before the escape or the link."""
    runbook = "https://example.test/runbook?page=phase4&section=lines"
    event = AlertEvent(kind="failing", title="t", text="x" * pad + " & <>" * 4, runbook=runbook)
    text = event_text(event)
    assert len(text) <= MAX_SECTION_CHARS
    body = text.removesuffix("…")
    escapes = body.split("<https://")[0]  # the link's URL keeps its own "&"
    for at in (i for i, c in enumerate(escapes) if c == "&"):
        assert escapes[at:].startswith(("&amp;", "&lt;", "&gt;")), escapes[at - 5 :]
    assert body.rfind("<") <= body.rfind(">")
    assert "<https://" not in body or body.endswith("|runbook?page=phase4&amp;section=lines>")


def test_block_limit_is_respected_and_the_rest_is_counted() -> None:
    events = [AlertEvent(kind="failing", title=f"c{i} FAIL", text="") for i in range(80)]
    blocks = build_message(events, headline="h", context="c")["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert "more" in blocks[-1]["elements"][0]["text"]


def test_secret_never_shows_itself() -> None:
    secret = Secret(URL)
    shown = [str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret:>20}", str([secret])]
    assert all(URL not in text and "s3cr3t" not in text for text in shown)
    assert secret.reveal() == URL
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_redact_removes_url_path_and_token(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(URL)
    path = "/services/T0NBAOPS1/B0NBAOPS2/s3cr3tT0kenValue123"
    text = f"POST {URL} failed; path {path}; tok s3cr3tT0kenValue123"
    cleaned = redact(text, secret)
    assert "s3cr3tT0kenValue123" not in cleaned and "/services/T0NBAOPS1" not in cleaned
    # Any Slack hook URL is redacted even without its Secret.
    assert "s3cr3t" not in redact(f"error for {URL}")
    logging.getLogger("t").warning("%s", secret)
    assert URL not in caplog.text


def test_validate_webhook_rejects_without_echoing_the_value() -> None:
    assert validate_webhook(URL + "\n") == Secret(URL)
    assert validate_webhook("http://127.0.0.1:9/hook").reveal() == "http://127.0.0.1:9/hook"
    for bad in (
        "",
        "   ",
        "http://hooks.slack.com/services/AAAAAAAAAA/secretvalue",
        "ftp://x/y",
        "https://[::1/services/T1/B2/secretvalue",  # urlsplit: "Invalid IPv6 URL"
        "https://hooks.slack.com/services/T1/B2/secret\udcffvalue",  # undecodable byte
        "https://hooks.slack.com:abc/services/T1/B2/secretvalue",  # stored, then InvalidURL
        "https://hooks.slack.com:99999/services/T1/B2/secretvalue",  # port out of range
    ):
        with pytest.raises(UsageError) as info:
            validate_webhook(bad)
        assert "secretvalue" not in str(info.value)


def test_summary_line() -> None:
    summary = AlertSummary(alerted=["a@s", "b@s"], suppressed=["c@s"], channels=["slack"])
    assert summary.summary == "alerts: 2 sent (slack), 1 suppressed"
    failed = AlertSummary(undelivered=["a@s"], errors=["Slack webhook returned HTTP 503"])
    assert failed.summary == "alerts: 1 NOT delivered (Slack webhook returned HTTP 503)"
    assert AlertSummary().summary == "alerts: 0 sent"


def test_a_hook_url_in_a_link_is_masked_and_the_link_markup_kept() -> None:
    """Redacting the built message (as delivery does) turned ``<hook|token>`` into
    ``<https://hooks.slack.com/***``: the label and the closing ``>`` were eaten, and Slack
    showed the rest of the line as part of a broken link."""
    from nbaops.redact import redact_tree

    event = AlertEvent(kind=AlertKind.FAILING, title="t", text="x", service="svc", runbook=URL)
    body = redact_tree(build_message([event], headline="h", context="c"))["blocks"][2]  # type: ignore[index]
    text = body["text"]["text"]
    assert "runbook <https://hooks.slack.com/***|***>" in text
    assert "s3cr3tT0kenValue123" not in text
    assert redact(f"see {URL}, then <{URL}|{URL}> and <{URL}>") == (
        "see https://hooks.slack.com/*** then <https://hooks.slack.com/***|***> and "
        "<https://hooks.slack.com/***>"
    )


def test_a_secret_holding_mrkdwn_control_characters_is_masked_before_it_is_escaped() -> None:
    """Redaction ran on the built message, after ``&``, ``<`` and ``>`` had become
    ``&amp;``, ``&lt;`` and ``&gt;``: the escapes split the secret into pieces of fewer
    than 8 characters, none of which redaction recognised, so the whole token went to
    Slack (and the outbox) piece by piece."""
    from nbaops.redact import redact_tree

    token = "Ab1&Cd2<Ef3>Gh4&Ij5<Kl6>Mn7"
    hook = Secret(f"https://alerts.example.test/hook?t={token}")
    leak = f"POST {hook.reveal()} refused"
    event = AlertEvent(
        kind=AlertKind.FAILING, title=leak, text=leak, threshold=token, fields={"url": leak}
    )
    payload = redact_tree(build_message([event], headline="h", context=leak))
    sent = str(payload)
    for piece in ("Ab1", "Cd2", "Ef3", "Gh4", "Ij5", "Kl6", "Mn7"):
        assert piece not in sent, sent
