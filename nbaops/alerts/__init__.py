"""Alerts: Slack messages for failing checks (deduplicated), recoveries and other events.

Public API:

- :func:`dispatch` — called by ``system-health`` after :func:`nbaops.history.record_run`:
  alerts for new FAIL/ERROR results, reminders after the suppression interval,
  "recovered" messages; returns an :class:`AlertSummary` (``.summary`` is one line).
- :func:`send` — one non-check event (deploy, rollback, test) → :class:`Delivery`.
- :func:`configure` — ``inv slack.configure``: test a webhook, then store it
  (:mod:`nbaops.alerts.webhook_store`); :func:`ping` — ``inv slack.test``.

Delivery never raises and never changes a run's verdict or exit code: a Slack failure
is reported on stderr and in the summary. On the local profile every message is also
appended to ``<state folder>/outbox.jsonl``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.alerts.events import AlertEvent, AlertKind, AlertSummary, Delivery
from nbaops.errors import first_line
from nbaops.fsutil import append_jsonl
from nbaops.redact import Secret, redact, redact_tree
from nbaops.stdio import stderr_line
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.alerts.settings import AlertSettings
    from nbaops.context import Context
    from nbaops.report import CheckReport

__all__ = ["AlertEvent", "AlertKind", "configure", "dispatch", "outbox_path", "ping", "send"]

OUTBOX_NAME = "outbox.jsonl"


def outbox_path(home: Path) -> Path:
    """The local profile's outbox: one JSON line per message."""
    return home / OUTBOX_NAME


def _report(message: str) -> None:
    stderr_line(f"nbaops: alerts: {message}")


def _append_outbox(home: Path, record: dict[str, Any]) -> None:
    # Every string is redacted before it is written: the outbox is a file people share.
    plain = json.loads(json.dumps(record, default=str))
    append_jsonl(outbox_path(home), [redact_tree(plain)], mode=0o600)


def _enrich(ctx: Context, event: AlertEvent, settings: AlertSettings) -> AlertEvent:
    if not event.service or event.service not in ctx.config.services:
        return event
    service = ctx.config.services[event.service]
    return dataclasses.replace(
        event,
        owner=event.owner or service.owner,
        runbook=event.runbook or settings.runbook_link(service.runbook),
    )


def _deliver(
    ctx: Context,
    events: Sequence[AlertEvent],
    *,
    headline: str,
    context_line: str,
    settings: AlertSettings,
    webhook: Secret | None = None,
) -> Delivery:
    from nbaops.alerts import slack, webhook_store

    events = [_enrich(ctx, e, settings) for e in events]
    # every text redacted before it leaves: a message may quote a log line holding a token
    built = slack.build_message(events, headline=headline, context=context_line)
    payload: dict[str, Any] = redact_tree(built)  # type: ignore[assignment]
    channels: list[str] = []
    error: str | None = None
    slack_status = "not configured"
    unreadable = False  # a webhook is configured but cannot be used: Slack did not get it
    if webhook is None:
        try:
            webhook, _source = webhook_store.resolve_webhook(ctx)
        except Exception as exc:  # store unreadable: report, still write the outbox
            error = redact(f"cannot read the Slack webhook: {exc}")
            slack_status = f"failed: {error}"
            unreadable = True
    if webhook is not None:
        try:
            slack.post(webhook, payload, timeout_s=settings.timeout_s)
            channels.append("slack")
            slack_status = "sent"
        except Exception as exc:
            error = redact(str(exc), webhook)
            slack_status = f"failed: {error}"
    elif error is None and not ctx.is_local:
        error = (
            "no Slack webhook configured: set SLACK_WEBHOOK_URL or run "
            f"`inv slack.configure --profile {ctx.profile}`"
        )
    if ctx.is_local:
        try:
            _append_outbox(
                ctx.home,
                {
                    "at": clock.now().isoformat(),
                    "profile": ctx.profile,
                    "headline": headline,
                    "events": [e.to_json() for e in events],
                    "slack": slack_status,
                    "payload": payload,
                },
            )
            channels.append("outbox")
        except OSError as exc:
            error = error or f"cannot write the outbox: {exc.strerror}"
    # Primary channel: Slack when a webhook is configured (even one that could not be
    # read), else (local only) the outbox.
    ok = ("slack" if webhook is not None or unreadable else "outbox") in channels
    return Delivery(ok=ok, channels=tuple(channels), error=None if ok else error)


def _context_line(ctx: Context, run_id: str | None = None) -> str:
    parts = [f"profile {ctx.profile}", f"project {ctx.config.profile.project}"]
    if run_id:
        parts.append(f"run {run_id}")
    parts.append(clock.now().strftime("%Y-%m-%d %H:%M UTC"))
    return " · ".join(parts)


def send(ctx: Context, event: AlertEvent, *, webhook: Secret | None = None) -> Delivery:
    """Send one event (deploy, rollback, test, ...) to Slack, plus the outbox on local.

    Args:
        ctx: the run context (profile decides the webhook store and the outbox).
        event: what to say; owner and runbook are filled from the config by service.
        webhook: post to this webhook instead of the configured one (``slack.configure``).

    Returns:
        The :class:`Delivery`; failures are returned (and printed on stderr), never raised.
    """
    from nbaops.alerts.settings import AlertSettings

    try:
        settings = ctx.config.settings("alerts", AlertSettings)
        delivery = _deliver(
            ctx,
            [event],
            headline=event.title,
            context_line=_context_line(ctx),
            settings=settings,
            webhook=webhook,
        )
    except Exception as exc:  # an alert must never break the operation that sent it
        delivery = Delivery(ok=False, error=redact(f"{type(exc).__name__}: {exc}", webhook))
    if not delivery.ok:
        _report(f"{event.title!r} not delivered: {delivery.error}")
    return delivery


def ping(ctx: Context) -> CheckReport:
    """``inv slack.test``: one test message through the configured webhook.

    Raises:
        UsageError: no webhook is configured for the profile (nothing is sent).
    """
    from nbaops.alerts.webhook_store import resolve_webhook
    from nbaops.errors import UsageError

    secret, source = resolve_webhook(ctx)
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
    if delivery.ok:
        verdict = Verdict.PASS
        message = (
            f"test message delivered to {', '.join(delivery.channels)} (webhook from {source})"
        )
    else:
        verdict = Verdict.ERROR
        message = f"test message failed (webhook from {source}): {delivery.error}"
    return _task_report("slack.test", verdict, message, delivery=delivery.to_json())


def _task_report(task: str, verdict: Verdict, message: str, **details: Any) -> CheckReport:
    """The report of a Slack task: one result named for the task, its facts in ``details``."""
    from nbaops.report import CheckReport

    return CheckReport(task, [CheckResult(task, "*", verdict, None, "", message, details=details)])


def check_event(result: CheckResult, *, recovered: bool = False) -> AlertEvent:
    """The alert for one check result (failing, or recovered)."""
    verdict = result.verdict.value
    return AlertEvent(
        kind=AlertKind.RECOVERED if recovered else AlertKind.FAILING,
        title=f"{result.name} recovered ({verdict})" if recovered else f"{result.name} {verdict}",
        text=result.message,
        service=result.service,
        verdict=result.verdict,
        check=result.name,
        value=result.value,
        unit=result.unit,
        threshold=result.threshold,
    )


def _headline(ctx: Context, failing: int, recovered: int) -> str:
    parts = []
    if failing:
        parts.append(f"{failing} check{'s' if failing != 1 else ''} failing")
    if recovered:
        parts.append(f"{recovered} recovered")
    return f"nbaops {ctx.profile}: " + ", ".join(parts)


def _label(result: CheckResult) -> str:
    return f"{result.name}@{result.service}"


def dispatch(ctx: Context, results: Sequence[CheckResult]) -> AlertSummary:
    """Alert on a run's results: new FAIL/ERROR, reminders, recoveries (deduplicated).

    See :mod:`nbaops.alerts.state` for the rules and where the state lives. Never raises:
    every problem is in ``summary.errors`` and on stderr, and the run's verdict and exit
    code are unchanged.
    """
    summary = AlertSummary(at=clock.now())
    try:
        _dispatch(ctx, list(results), summary)
    except Exception as exc:  # the run must still report
        message = redact(first_line(exc, typed=True))
        summary.errors.append(message)
        _report(message)
    return summary


def _dispatch(ctx: Context, results: list[CheckResult], summary: AlertSummary) -> None:
    from nbaops.alerts import state
    from nbaops.alerts.settings import AlertSettings

    settings = ctx.config.settings("alerts", AlertSettings)
    now = summary.at or clock.now()
    run_ids = {str(r.details["run_id"]) for r in results if r.details.get("run_id")}
    run_id = run_ids.pop() if len(run_ids) == 1 else uuid.uuid4().hex[:16]

    store: state.StateStore | None = None
    marks: dict[str, state.Mark] = {}
    try:
        store = state.open_state(ctx)
        marks = store.load(now, settings.suppression)
    except Exception as exc:  # without state, alert anyway: a duplicate beats a miss
        message = redact(f"alert state unavailable, not deduplicating: {first_line(exc)}")
        summary.errors.append(message)
        _report(message)
    decided = state.plan(
        results,
        marks,
        now,
        suppression=settings.suppression,
        recovery_messages=settings.recovery_messages,
    )
    summary.suppressed = [_label(r) for r in decided.suppressed]
    events = [check_event(r) for r in decided.alerts]
    events += [check_event(r, recovered=True) for r in decided.recoveries]
    to_mark: list[CheckResult] = list(decided.silent_recoveries)
    if events:
        delivery = _deliver(
            ctx,
            events,
            headline=_headline(ctx, len(decided.alerts), len(decided.recoveries)),
            context_line=_context_line(ctx, run_id),
            settings=settings,
        )
        summary.channels = list(delivery.channels)
        if delivery.ok:
            summary.alerted = [_label(r) for r in decided.alerts]
            summary.recovered = [_label(r) for r in decided.recoveries]
            to_mark += decided.alerts + decided.recoveries
        else:
            summary.undelivered = [_label(r) for r in decided.alerts + decided.recoveries]
            error = delivery.error or "delivery failed"
            summary.errors.append(error)
            _report(f"{len(events)} alert(s) not delivered: {error}")
    if to_mark and store is not None:
        try:
            store.save(state.marks_for(to_mark, now), run_id=run_id, profile=ctx.profile)
        except Exception as exc:
            message = redact(f"alert state not saved ({store.where}): {first_line(exc)}")
            summary.errors.append(message)
            _report(message)


def configure(
    ctx: Context, secret: Secret, *, send_test: bool = True, dry_run: bool = False
) -> CheckReport:
    """``inv slack.configure``: send a test message through ``secret``, then store it.

    The test goes first so a mistyped webhook is not stored (nothing is changed); pass
    ``send_test=False`` to store without sending. ``dry_run``: the URL was checked by the
    caller; say where it would go, send and store nothing. The report never contains the URL.
    """
    from nbaops.alerts.webhook_store import open_store

    store = open_store(ctx)
    if dry_run:
        steps = "send a test message, then store" if send_test else "store"
        message = f"dry run: would {steps} the webhook in {store.where}; nothing sent or stored"
        return _task_report(
            "slack.configure", Verdict.PASS, message, store=store.where, tested=False
        )
    if send_test:
        event = AlertEvent(
            kind=AlertKind.TEST,
            title="nbaops: Slack alerts configured",
            text=f"Test message from `inv slack.configure` on the {ctx.profile} profile. "
            "Health-check alerts for this profile will arrive here.",
        )
        delivery = send(ctx, event, webhook=secret)
        if not delivery.ok:
            failed = f"test message failed, webhook NOT stored: {delivery.error}"
            return _task_report("slack.configure", Verdict.ERROR, failed)
    store.save(secret)
    tested = "test message sent, " if send_test else ""
    stored = f"{tested}webhook stored in {store.where}"
    return _task_report(
        "slack.configure", Verdict.PASS, stored, store=store.where, tested=send_test
    )
