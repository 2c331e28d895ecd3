"""Slack alerts end to end on the local profile: a receiver on 127.0.0.1 gets the posts.

Dedup (first FAIL alerts, repeats within the interval do not, after it they do),
recovery, ERROR, a 5xx from Slack (reported, exit code unchanged, alerted again next run),
the outbox, and the webhook URL never showing up anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from worlds.slack_receiver import TOKEN, SlackReceiver

from nbaops.alerts import AlertEvent, AlertKind, dispatch, outbox_path, send
from nbaops.cli.runner import run
from nbaops.context import Context
from nbaops.report import CheckReport
from nbaops.sandbox.world import open_context
from nbaops.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 1, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: SlackReceiver) -> Context:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.webhook)
    at(monkeypatch, T0)
    return open_context("local", config_path=ROOT / "nbaops.yaml")


def at(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    monkeypatch.setenv("NBAOPS_NOW", moment.isoformat())


def coverage(verdict: Verdict, value: float | None = 0.62) -> CheckResult:
    return CheckResult(
        name="lines_coverage",
        service="phase4-processors",
        verdict=verdict,
        value=value,
        threshold="FAIL < 90%, WARN < 95%",
        message=f"coverage {value} ({verdict.value})",
    )


def test_first_fail_alerts_with_owner_runbook_and_value(
    ctx: Context, receiver: SlackReceiver
) -> None:
    summary = dispatch(ctx, [coverage(Verdict.FAIL), coverage(Verdict.PASS, 0.99)])
    assert summary.alerted == ["lines_coverage@phase4-processors"]
    assert summary.summary == "alerts: 1 sent (slack, outbox)"
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post.body["text"] == "nbaops local: 1 check failing"
    section = post.body["blocks"][2]["text"]["text"]
    assert "lines_coverage FAIL" in section
    assert "value *0.62* vs threshold `FAIL &lt; 90%, WARN &lt; 95%`" in section
    assert "owner @nba-data-eng" in section
    assert "docs/runbooks/phase4-processors.md" in section


def test_repeat_within_interval_is_suppressed_then_alerts_again_after_it(
    ctx: Context, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dispatch(ctx, [coverage(Verdict.FAIL)]).alerted
    at(monkeypatch, T0 + dt.timedelta(hours=6))
    again = dispatch(ctx, [coverage(Verdict.FAIL)])
    assert again.alerted == [] and again.suppressed == ["lines_coverage@phase4-processors"]
    assert "1 suppressed" in again.summary
    assert len(receiver.posts) == 1
    at(monkeypatch, T0 + dt.timedelta(hours=12))  # suppression_interval: 12h
    assert dispatch(ctx, [coverage(Verdict.FAIL)]).alerted
    assert len(receiver.posts) == 2


def test_pass_after_fail_sends_recovered_once(
    ctx: Context, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatch(ctx, [coverage(Verdict.FAIL)])
    at(monkeypatch, T0 + dt.timedelta(hours=1))
    summary = dispatch(ctx, [coverage(Verdict.PASS, 0.97)])
    assert summary.recovered == ["lines_coverage@phase4-processors"]
    assert len(receiver.posts) == 2
    assert "recovered" in receiver.posts[1].body["text"]
    assert "lines_coverage recovered (PASS)" in receiver.posts[1].text
    at(monkeypatch, T0 + dt.timedelta(hours=2))
    assert dispatch(ctx, [coverage(Verdict.PASS, 0.97)]).recovered == []
    assert len(receiver.posts) == 2
    # A new failure after recovery alerts at once, within the old interval.
    at(monkeypatch, T0 + dt.timedelta(hours=3))
    assert dispatch(ctx, [coverage(Verdict.FAIL)]).alerted
    assert len(receiver.posts) == 3


def test_error_alerts(ctx: Context, receiver: SlackReceiver) -> None:
    error = CheckResult.error("grading_completeness", "grading-service", TimeoutError("timed out"))
    summary = dispatch(ctx, [error])
    assert summary.alerted == ["grading_completeness@grading-service"]
    assert "grading_completeness ERROR" in receiver.posts[0].text
    assert "owner @nba-ml-platform" in receiver.posts[0].text


def test_slack_5xx_is_reported_exit_code_unchanged_and_alerted_next_run(
    ctx: Context,
    receiver: SlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receiver.status = 503
    summaries = []

    def health(c: Context) -> CheckReport:
        results = [coverage(Verdict.FAIL)]
        summaries.append(dispatch(c, results))
        return CheckReport("system-health", results)

    assert run(health, profile="local", json_output=True) == 1  # FAIL -> 1, as without Slack
    out, err = capsys.readouterr()
    assert json.loads(out)["verdict"] == "FAIL"  # still exactly one JSON document
    assert "HTTP 503" in err
    summary = summaries[0]
    assert summary.undelivered == ["lines_coverage@phase4-processors"] and not summary.alerted
    assert "NOT delivered" in summary.summary and "HTTP 503" in summary.summary
    # Undelivered means not recorded: the next run (Slack healthy) alerts, not suppresses.
    receiver.status = 200
    at(monkeypatch, T0 + dt.timedelta(minutes=10))
    assert run(health, profile="local", json_output=True) == 1
    assert summaries[1].alerted == ["lines_coverage@phase4-processors"]
    assert len(receiver.posts) == 2


def test_outbox_gets_every_alert_even_without_a_webhook(
    ctx: Context, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    summary = dispatch(ctx, [coverage(Verdict.FAIL)])
    assert summary.alerted and summary.channels == ["outbox"] and summary.ok
    assert receiver.posts == []
    lines = outbox_path(ctx.home).read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    assert record["slack"] == "not configured"
    assert record["events"][0]["check"] == "lines_coverage"
    assert record["events"][0]["owner"] == "@nba-data-eng"
    # With a webhook the outbox still gets a copy, marked sent.
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.webhook)
    at(monkeypatch, T0 + dt.timedelta(hours=1))
    dispatch(ctx, [coverage(Verdict.ERROR, None)])
    lines = outbox_path(ctx.home).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1])["slack"] == "sent"
    assert (ctx.home / "alerts" / "state.json").is_file()


def test_a_configured_webhook_that_cannot_be_read_is_not_delivered_and_not_recorded(
    ctx: Context, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store (a folder here) could not be read: the outbox copy counted as delivered,
    # the alert was recorded, and Slack never heard of it.
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    (ctx.home / "secrets" / "slack-webhook").mkdir(parents=True)
    summary = dispatch(ctx, [coverage(Verdict.FAIL)])
    assert summary.undelivered == ["lines_coverage@phase4-processors"] and not summary.alerted
    assert "cannot read the Slack webhook" in summary.summary
    assert not (ctx.home / "alerts" / "state.json").exists()  # the next run alerts again


@pytest.mark.parametrize(
    "webhook",
    [
        "http://192.0.2.10:9/services/T1/B2/plaintextsecret",  # plain http, not loopback
        "ftp://example.org/services/T1/B2/plaintextsecret",
    ],
)
def test_a_webhook_from_the_environment_is_checked_before_anything_is_sent(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, webhook: str
) -> None:
    # Only slack.configure checked the URL: $SLACK_WEBHOOK_URL was posted to as it was,
    # over plain HTTP to any host (the token in the clear).
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook)
    summary = dispatch(ctx, [coverage(Verdict.FAIL)])
    assert summary.undelivered == ["lines_coverage@phase4-processors"]
    assert "$SLACK_WEBHOOK_URL: the Slack webhook must be an https:// URL" in summary.summary
    assert "plaintextsecret" not in summary.summary


def test_send_for_deploy_events(ctx: Context, receiver: SlackReceiver) -> None:
    event = AlertEvent(
        kind=AlertKind.ROLLBACK,
        title="prediction-worker rolled back",
        text="canary error rate 12% > 2%; traffic back to prediction-worker-00007-abc",
        service="prediction-worker",
        verdict=Verdict.FAIL,
        fields={"revision": "prediction-worker-00008-xyz", "commit": "a" * 40},
    )
    delivery = send(ctx, event)
    assert delivery.ok and delivery.channels == ("slack", "outbox")
    assert ":rewind:" in receiver.posts[0].text and "owner @nba-ml" in receiver.posts[0].text
    assert "prediction-worker-00008-xyz" in receiver.posts[0].text


def test_webhook_url_never_appears_in_output_logs_or_errors(
    ctx: Context,
    receiver: SlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    receiver.status = 500
    summary = dispatch(ctx, [coverage(Verdict.FAIL)])
    seen += [summary.summary, json.dumps(summary.to_json()), *summary.errors]
    # An unreachable webhook (closed port): the network error must not carry the URL.
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/services/T1/B2/" + TOKEN)
    delivery = send(ctx, AlertEvent(kind="test", title="t", text="x"))
    assert not delivery.ok and delivery.error
    seen += [delivery.error, repr(delivery)]
    out, err = capsys.readouterr()
    seen += [out, err, caplog.text, *(r.getMessage() for r in caplog.records)]
    seen.append(outbox_path(ctx.home).read_text(encoding="utf-8"))
    assert "HTTP 500" in err  # the failure is reported...
    for text in seen:  # ...without the credential
        assert TOKEN not in text
        assert "/services/T0NBAOPS01" not in text
