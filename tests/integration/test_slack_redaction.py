"""Issue 14 item 2 end to end: a Slack endpoint that echoes the webhook (upper-cased, cut
short) or a stored webhook with a control character never leaks the token anywhere: not
in the exception, the task's output, the --json document or the local outbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from worlds.slack_receiver import HOOK_PATH, SlackReceiver

from nbaops.adapters.slack import SlackDeliveryError
from nbaops.alerts import AlertEvent, AlertKind, outbox_path, send
from nbaops.alerts.slack import post
from nbaops.cli.runner import run
from nbaops.context import Context
from nbaops.redact import MIN_FRAGMENT, Secret
from nbaops.report import CheckReport
from nbaops.sandbox.world import open_context
from nbaops.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
SECRET_PART = HOOK_PATH.removeprefix("/services/")


def leaked(text: str) -> list[str]:
    low = text.lower()
    return [
        SECRET_PART[i : i + MIN_FRAGMENT]
        for i in range(len(SECRET_PART) - MIN_FRAGMENT + 1)
        if SECRET_PART[i : i + MIN_FRAGMENT].lower() in low
    ]


def echoes(receiver: SlackReceiver) -> list[str]:
    url = receiver.webhook
    return [
        f"invalid url {url.upper()}",  # echoed upper-cased
        ("x" * 250 + url)[:300],  # a 300-byte excerpt cuts the token short
        f"no_such_hook {HOOK_PATH.lower()}",
    ]


def test_post_errors_never_echo_the_webhook(receiver: SlackReceiver) -> None:
    receiver.status = 404
    for body in echoes(receiver):
        receiver.error_body = body
        with pytest.raises(SlackDeliveryError) as info:
            post(Secret(receiver.webhook), {"text": "x"})
        assert "HTTP 404" in str(info.value)
        assert leaked(str(info.value)) == [], str(info.value)
    receiver.error_body = "invalid_token"  # a Slack error code is shown: it is safe
    with pytest.raises(SlackDeliveryError, match="HTTP 404: invalid_token"):
        post(Secret(receiver.webhook), {"text": "x"})


def test_a_control_character_in_the_stored_webhook_is_refused_before_any_call(
    receiver: SlackReceiver,
) -> None:
    with pytest.raises(SlackDeliveryError, match="control character") as info:
        post(Secret(receiver.webhook + "\n"), {"text": "x"})
    assert leaked(str(info.value)) == []
    assert receiver.posts == []


def test_send_output_json_and_outbox_stay_clean(
    receiver: SlackReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.webhook)
    receiver.status = 500
    receiver.error_body = f"upstream rejected {receiver.webhook.upper()}"
    ctx = open_context("local", config_path=ROOT / "nbaops.yaml")
    event = AlertEvent(kind=AlertKind.FAILING, title="c FAIL", text=f"see {receiver.webhook}")
    delivery = send(ctx, event)
    assert not delivery.ok and delivery.error and leaked(delivery.error) == []
    assert leaked(capsys.readouterr().err) == []
    outbox = outbox_path(ctx.home).read_text(encoding="utf-8")
    assert outbox and leaked(outbox) == []

    def action(_ctx: Context) -> CheckReport:
        message = f"echo {receiver.webhook.swapcase()}"
        return CheckReport("t", [CheckResult("c", "svc", Verdict.FAIL, 1, "0", message)])

    for json_output in (False, True):
        capsys.readouterr()
        run(action, json_output=json_output)
        out, err = capsys.readouterr()
        assert leaked(out + err) == [], out + err
        if json_output:
            json.loads(out)


def test_a_token_quoted_by_a_check_message_is_masked_in_the_post_and_the_history_row(
    receiver: SlackReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check message quoting a log line with a GitHub token was masked on stdout and in
    the outbox, but posted to Slack and stored in nba_ops.check_results as it was."""
    import datetime as dt

    from nbaops.alerts import dispatch
    from nbaops.history import to_row

    token = "ghp_EnvGithubTokenZZZ1234567890abcdef"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.webhook)
    failing = CheckResult(
        "error_logs",
        "grading-service",
        Verdict.FAIL,
        12,
        ">= 10",
        f'12 ERROR entries; top: "GitHub call failed: bad credentials for {token}" x12',
    )
    dispatch(open_context("local", config_path=ROOT / "nbaops.yaml"), [failing])
    assert receiver.posts, "the alert was not posted"
    posted = json.dumps([p.body for p in receiver.posts])
    assert token[:12] not in posted and token[-12:] not in posted, posted
    row = to_row(failing, run_id="r", run_at=dt.datetime.now(dt.UTC), profile="local", commit=None)
    assert token[-12:] not in str(row["message"]) and "***" in str(row["message"])
