"""Slack tasks: store the incoming-webhook URL and send a test message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report


@nbaops_task(
    "nbaops.alerts.configure",
    help={
        "from_env": "Take the URL from $SLACK_WEBHOOK_URL instead of a hidden prompt "
        "(or one line on stdin when piped). The URL is never accepted as a flag: "
        "flags end up in shell history.",
        "no_test": "Store without sending the test message (default: test first, and "
        "store only if Slack accepted it).",
    },
)
def configure(ctx: Context, from_env: bool = False, no_test: bool = False) -> Report:
    """Store the Slack webhook (prod: Secret Manager; local: 0600 file) after a test message."""
    from nbaops import alerts
    from nbaops.alerts import webhook_store

    secret = webhook_store.read_url_input(from_env=from_env)
    return alerts.configure(ctx, secret, send_test=not no_test)


@nbaops_task("nbaops.alerts.send")
def test(ctx: Context) -> Report:
    """Send a test message through the configured webhook ($SLACK_WEBHOOK_URL, then the store)."""
    from nbaops.alerts import AlertEvent, AlertKind, send, webhook_store
    from nbaops.errors import UsageError
    from nbaops.report import CheckReport
    from nbaops.verdict import CheckResult, Verdict

    secret, source = webhook_store.resolve_webhook(ctx)
    if secret is None:
        raise UsageError(
            f"no Slack webhook configured for profile {ctx.profile}: set "
            f"SLACK_WEBHOOK_URL or run `inv slack.configure --profile {ctx.profile}`"
        )
    event = AlertEvent(
        kind=AlertKind.TEST,
        title="nbaops: Slack test message",
        text=f"Sent by `inv slack.test` on the {ctx.profile} profile.",
    )
    delivery = send(ctx, event, webhook=secret)
    ok = delivery.ok
    message = (
        f"test message delivered to {', '.join(delivery.channels)} (webhook from {source})"
        if ok
        else f"test message failed (webhook from {source}): {delivery.error}"
    )
    result = CheckResult(
        name="slack.test",
        service="*",
        verdict=Verdict.PASS if ok else Verdict.ERROR,
        value=None,
        threshold="",
        message=message,
        details={"delivery": delivery.to_json()},
    )
    return CheckReport("slack.test", [result])


ns = Collection("slack", configure, test)
