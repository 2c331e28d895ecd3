"""Slack tasks: store the incoming-webhook URL and send a test message."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP


@task(
    help={
        "from_env": "Take the URL from $SLACK_WEBHOOK_URL instead of a hidden prompt "
        "(or one line on stdin when piped). The URL is never accepted as a flag: "
        "flags end up in shell history.",
        "no_test": "Store without sending the test message (default: test first, and "
        "store only if Slack accepted it).",
        **COMMON_HELP,
    }
)
def configure(
    c: object,
    from_env: bool = False,
    no_test: bool = False,
    profile: str | None = None,
    json: bool = False,
    debug: bool = False,
) -> None:
    """Store the Slack webhook (prod: Secret Manager; local: 0600 file) after a test message."""
    from nbaops import alerts
    from nbaops.alerts import webhook_store
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.report import Report

    def action(ctx: Context) -> Report:
        secret = webhook_store.read_url_input(from_env=from_env)
        return alerts.configure(ctx, secret, send_test=not no_test)

    finish(action, profile=profile, json_output=json, debug=debug)


@task(help={**COMMON_HELP})
def test(
    c: object,
    profile: str | None = None,
    json: bool = False,
    debug: bool = False,
) -> None:
    """Send a test message through the configured webhook ($SLACK_WEBHOOK_URL, then the store)."""
    from nbaops.alerts import AlertEvent, AlertKind, send, webhook_store
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.errors import UsageError
    from nbaops.report import CheckReport, Report
    from nbaops.verdict import CheckResult, Verdict

    def action(ctx: Context) -> Report:
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

    finish(action, profile=profile, json_output=json, debug=debug)


ns = Collection("slack", configure, test)
