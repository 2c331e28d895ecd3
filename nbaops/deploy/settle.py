"""How a deploy in flight ends: promote, hold or roll back as decided, or restore the
previous revision after an error; each ends with the alert, the audit outcome and the
summary."""

from __future__ import annotations

import time

from nbaops.deploy.inflight import InFlight, alert
from nbaops.deploy.journal import crash_point, traffic_text
from nbaops.deploy.lock import retry_cas
from nbaops.deploy.outcome import Action, Decision
from nbaops.deploy.restore import RollbackResult, manual_commands
from nbaops.errors import CloudRunError, first_line
from nbaops.verdict import CheckResult, Verdict, worst


def settle(d: InFlight, decision: Decision, reason: str) -> None:
    """Carry out the decision: promote, roll back or hold; alert; set the outcome."""
    from nbaops.adapters.cloudrun import TrafficSplit

    ctx, report, record, progress = d.ctx, d.report, d.record, d.progress
    service = d.service
    new = report.new_revision or ""
    before = d.before
    for step in report.steps:
        record.add("deploy", step)
    # one read, fenced: no outcome is acted on (or claimed) without the lease, and the
    # outcome is told from it (a second read that failed would end a held canary as
    # "failed", its journal removed while the split stays)
    info = ctx.cloudrun.get_service(service)
    if d.lease is not None:
        d.fence(info)
    if decision.action is Action.PROMOTE:
        started = time.perf_counter()
        if info.traffic_by_revision.get(new, 0) != 100:
            progress.step("promote", f"{new} → 100%")
            d.log("promote")
            retry_cas(
                lambda: ctx.cloudrun.set_traffic(service, [TrafficSplit(new, 100)], fence=d.fence),
                f"{service}: could not promote {new}",
            )
            crash_point("promote:moved")
            info = ctx.cloudrun.get_service(service)
        serving = info.traffic_by_revision.get(new, 0)
        if serving != 100:
            raise CloudRunError(f"promotion not confirmed: {new} serves {serving}%")
        d.settled = True
        report.revision_after = new
        d.passed("promote", f"{new} serves 100%", 100, started, f"run_v2 GetService {service}")
        record.add("deploy", report.steps[-1])
        report.outcome = "success"
        measured = worst([Verdict.PASS, *(c.verdict for c in [*report.predeploy, *report.steps])])
        # success exits 0 (the outcome table): a step that was not clean (a WARN, or an
        # INCONCLUSIVE checklist item, which does not refuse the deploy) makes it WARN,
        # never INCONCLUSIVE: exit 3 said "could not determine" of a deployed service
        report.verdict_override = Verdict.PASS if measured is Verdict.PASS else Verdict.WARN
        model = f", model {report.model_version}" if report.model_version else ""
        report.summary = (
            f"DEPLOYED {service}: {new} serves 100% (commit "
            f"{(report.commit or '')[:12]}{model}, was {before}); {reason}"
        )
        alert(d, "deploy", f"{service} deployed", report.summary, Verdict.PASS)
        record.finish("success", report.summary)
        progress.step("outcome", report.summary, report.verdict)
        return
    if decision.action is Action.HOLD:
        d.settled = d.held = True
        report.outcome = "held"
        report.verdict_override = decision.verdict
        if info.traffic_by_revision.get(before, 0) == 100:  # it failed before any traffic
            report.summary = (
                f"HELD {service}: {decision.reason}; {before} still serves 100% (the new "
                f"revision {new} has no traffic): nothing to roll back"
            )
        else:
            split = traffic_text(info.traffic_by_revision)
            report.manual = manual_commands(ctx, service, before)
            report.summary = (
                f"HELD {service}: {decision.reason}; traffic left as is ({split}); "
                f"decide by hand: {report.manual[0]}"
            )
        alert(
            d,
            "deploy",
            f"ACTION NEEDED: {service} deploy held ({decision.verdict.value})",
            f"{report.summary}. {reason}",
            decision.verdict,
        )
        record.finish("held", f"{report.summary}. {reason}")
        progress.step("outcome", report.summary, decision.verdict)
        return
    # ROLLBACK
    progress.step("rollback", f"{decision.reason}: {reason}", decision.verdict)
    result = d.restore(new)
    after_rollback(d, decision.verdict, result, "rolled_back", reason)


def after_rollback(
    d: InFlight, verdict: Verdict, result: RollbackResult, outcome: str, reason: str
) -> None:
    report, record = d.report, d.record
    service = d.service
    report.steps.extend(result.checks)
    for check in result.checks:
        record.add("rollback", check)
    before = d.before
    # (a failed operation may not have named the revision it made)
    new = f"new revision {report.new_revision}" if report.new_revision else "the new revision"
    if result.ok:
        d.settled = True
        report.outcome = outcome
        report.revision_after = before
        report.verdict_override = verdict
        what = "ROLLED BACK" if outcome == "rolled_back" else "DEPLOY FAILED"
        report.summary = (
            f"{what} {service} ({verdict.value}): {reason}; {before} serves 100% "
            f"again, verified ({new} has no traffic)"
        )
        loud = "" if verdict is Verdict.FAIL else "ACTION NEEDED: "
        alert(
            d,
            "rollback",
            f"{loud}{service} deploy rolled back ({verdict.value})",
            report.summary,
            verdict,
        )
    else:
        report.outcome = "rollback_failed"
        report.revision_after = None
        report.verdict_override = Verdict.ERROR
        report.manual = result.manual
        report.summary = (
            f"ROLLBACK FAILED {service}: {reason}; traffic may still reach "
            f"{new}: run the manual commands above"
        )
        alert(
            d,
            "rollback",
            f"ROLLBACK FAILED: {service} needs manual action",
            report.summary + " Commands: " + " && ".join(result.manual[-2:]),
            Verdict.ERROR,
            {"manual": result.manual[-2]},
        )
    record.finish(report.outcome, report.summary)
    d.progress.step("outcome", report.summary, report.verdict)


def recover_from_error(d: InFlight, exc: Exception) -> None:
    """An error after the lock: restore and verify the previous revision if anything moved."""
    report, record, progress = d.report, d.record, d.progress
    service = d.service
    text = first_line(exc, typed=True)[:400]
    report.steps.append(CheckResult.error("deploy_error", service, exc))
    progress.step("error", text, Verdict.ERROR)
    for step in report.steps:
        record.add("deploy", step)
    if not d.mutated or d.settled:
        report.outcome = "failed"
        report.verdict_override = Verdict.ERROR
        report.summary = f"DEPLOY FAILED {service}: {text}"
        if d.settled:
            report.summary += " (after the outcome was reached)"
        alert(d, "deploy", f"{service} deploy failed", report.summary, Verdict.ERROR)
        record.finish("failed", report.summary)
        progress.step("outcome", report.summary, Verdict.ERROR)
        return
    result = d.restore(report.new_revision)
    after_rollback(d, Verdict.ERROR, result, "failed", f"deploy error: {text}")
