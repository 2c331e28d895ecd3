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
        "dry_run": "Check the URL and name where it would be stored; send nothing, store nothing.",
    },
)
def configure(
    ctx: Context, from_env: bool = False, no_test: bool = False, dry_run: bool = False
) -> Report:
    """Store the Slack webhook (prod: Secret Manager; local: 0600 file) after a test message."""
    from nbaops import alerts
    from nbaops.alerts import webhook_store

    secret = webhook_store.read_url_input(from_env=from_env)
    return alerts.configure(ctx, secret, send_test=not no_test, dry_run=dry_run)


@nbaops_task("nbaops.alerts.ping")
def test(ctx: Context) -> Report:
    """Send a test message through the configured webhook ($SLACK_WEBHOOK_URL, then the store)."""
    from nbaops.alerts import ping

    return ping(ctx)


ns = Collection("slack", configure, test)
