"""Inject and clear the sandbox's faults (:mod:`nbaops.sandbox.faults` has the catalog).

Data faults regenerate the data from the seed with every active fault re-applied
(:func:`nbaops.sandbox.lifecycle.refresh`); API faults go to the stand-in
(:mod:`nbaops.local.api_faults`); :func:`on_new_revision` is the stand-in's hook
(wired by :mod:`nbaops.sandbox.world`) that consumes an armed ``next-revision-degraded``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.errors import UsageError, WarehouseError, ctrl_c_noted, first_line
from nbaops.report import CheckReport
from nbaops.sandbox import faults, lifecycle
from nbaops.stdio import stderr_line
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.sandbox.build_settings import Settings


def _resolve(ctx: Context, name: str, service: str | None) -> str | None:
    from nbaops.local.api_faults import API_FAULT_KINDS

    names = faults.known_faults()
    if name not in names:
        raise UsageError(f"unknown fault {name!r}; known faults: {', '.join(names)}")
    if service is not None:
        ctx.config.service(service)  # UnknownServiceError listing the known ones
    if name in API_FAULT_KINDS:
        return service
    if name == faults.ARMED or name in faults.CANARY_FAULTS:
        return service or "prediction-worker"
    if name == faults.DRIFT:
        return service or "phase4-processors"
    spec = faults.DATA_FAULTS[name]
    if spec.fixed and service is not None and service != spec.default_service:
        raise UsageError(
            f"fault {name} belongs to {spec.default_service}; omit --service or pass "
            f"--service {spec.default_service}"
        )
    return service or spec.default_service


def inject(ctx: Context, name: str, service: str | None = None) -> CheckReport:
    """Inject a fault (data faults apply at once; ``next-revision-degraded`` is armed).

    Raises:
        UsageError: unknown fault (the message lists the known ones), a service the
            fault cannot apply to, or not the local profile.
        UnknownServiceError: a service the config does not know.
    """
    from nbaops.local import api_faults
    from nbaops.local.state_files import locked

    settings = lifecycle.settings_for(ctx)
    target = _resolve(ctx, name, service)
    lifecycle.ensure_sandbox(ctx)
    now = clock.now()
    if name in api_faults.API_FAULT_KINDS:
        record = {"name": name, **api_faults.set_api_fault(settings.home, name, service=target)}
        return fault_report("injected", [record], faults.active(settings.home))
    record = {"name": name, "service": target, "injected_at": now.isoformat()}
    if name == faults.DRIFT and target is not None:
        from nbaops.sandbox import platform_repo

        paths = ctx.config.service(target).source_paths
        service_paths = [p for p in paths if p.startswith("services/")] or list(paths)
        record["commits"] = platform_repo.add_drift_commits(
            settings.home, ctx.root, target, service_paths[0], now
        )
        record["repository"] = str(platform_repo.platform_path(settings.home))
    elif name == faults.ARMED:
        record["armed"] = True
    recorded = False
    try:
        with locked(settings.home):  # may wait for another task's refresh
            before = faults.read_records(settings.home)
            if name in faults.DATA_FAULTS:  # drift, armed and canary faults touch no data
                # killed between the fault list and the data: the next use applies the fault
                lifecycle.mark_incomplete(settings.home, "refresh")
            faults.write_records(settings.home, [*before, record])
            recorded = True
            if name in faults.DATA_FAULTS:
                try:
                    _refresh(settings, f"fault {name} is recorded")
                    if ctrl_c_noted():  # swallowed on its way: still the user's cancel
                        raise KeyboardInterrupt
                except KeyboardInterrupt:
                    _take_back(settings.home, before)
                    raise
    except KeyboardInterrupt:
        if record.get("commits") and not recorded:  # no drift of a fault never recorded
            from nbaops.sandbox import platform_repo

            platform_repo.remove_drift_commits(settings.home, record["commits"])
        raise
    return fault_report("injected", [record], faults.active(settings.home))


def _take_back(home: Path, before: list[dict[str, Any]]) -> None:
    """Ctrl-C during an injection's data refresh cancels the injection (exit 130 changes
    nothing): the fault list is put back and the refresh left marked incomplete, so the
    next task regenerates the data without the fault (a kill -9, which runs no cleanup,
    leaves the fault for the next task to apply instead). Marked first: a second Ctrl-C
    between the two writes leaves the kill -9 state, never a fault without its data."""
    lifecycle.mark_incomplete(home, "refresh")
    faults.write_records(home, before)


def _refresh(settings: Settings, done: str) -> None:
    """Regenerate the data now; when the warehouse is held too long by another task,
    say what did change: the fault list is written and the refresh marked incomplete, so
    the next task (any ``inv`` run) applies it."""
    try:
        lifecycle.refresh(settings)
    except WarehouseError as exc:
        if ctrl_c_noted():  # DuckDB turns Ctrl-C into its own error: the interrupt it is
            raise KeyboardInterrupt from None
        raise WarehouseError(
            f"{done}, but its data is not applied yet: {first_line(exc)}; the next task "
            "applies it (or run this again)"
        ) from None


def clear(ctx: Context) -> CheckReport:
    """Clear every fault (data, armed and API faults) and restore the data from the seed."""
    from nbaops.local import api_faults
    from nbaops.local.state_files import locked
    from nbaops.sandbox import platform_repo

    settings = lifecycle.settings_for(ctx)
    lifecycle.ensure_sandbox(ctx)
    with locked(settings.home):
        cleared = [r for records in faults.active(settings.home).values() for r in records]
        lifecycle.mark_incomplete(settings.home, "refresh")  # killed after this: redone
        faults.write_records(settings.home, [])
        api_faults.clear_api_faults(settings.home)
        # the drift fault's commits go with the clone (the next drift check re-clones),
        # before the data: a refresh that waits too long for the warehouse leaves only
        # the data for the next task, which does not touch the clone
        platform_repo.remove_platform_repo(settings.home)
        try:
            _refresh(settings, "the faults are cleared")
        except KeyboardInterrupt:  # the clear is done (the clone is gone): say so
            stderr_line(
                "nbaops: the faults are cleared, but their data is not restored yet: the next "
                "task restores it (or run this again)"
            )
            raise
    return fault_report("cleared", cleared, {})


def on_new_revision(home: Path, service: str, revision: str) -> bool:
    """The stand-in's hook: a new revision of ``service`` was just created.

    When ``next-revision-degraded`` is armed for the service, consume it: degrade the
    service's data, log ERROR entries tagged with ``revision`` and return True (the
    stand-in then marks the revision unhealthy). Otherwise return False (cheap: one
    small file read).
    """

    def armed(rec: dict[str, Any]) -> bool:
        return (
            rec.get("name") == faults.ARMED
            and bool(rec.get("armed"))
            and rec.get("service") == service
        )

    if not any(armed(r) for r in faults.read_records(home)):
        return False
    from nbaops.local.state_files import locked

    with locked(home):
        records = faults.read_records(home)
        consumed = next((rec for rec in records if armed(rec)), None)
        if consumed is None:
            return False
        consumed.update(
            armed=False,
            applied=faults.DEGRADES.get(service, "error-logs"),
            revision=revision,
            applied_at=clock.now().isoformat(),
        )
        faults.write_records(home, records)
        settings = lifecycle.settings_from_marker(home)
        if settings is not None:
            lifecycle.refresh(settings)
    return True


def fault_report(
    action: str, records: list[dict[str, Any]], active: dict[str, list[dict[str, Any]]]
) -> CheckReport:
    """What ``sandbox.fault`` / ``sandbox.clear`` did (``injected``/``cleared`` records) and
    what is active now: an action report (PASS when done)."""
    lines = [] if records else [f"{action}: no faults were active"]
    for rec in records:
        where = f" on {rec['service']}" if rec.get("service") else ""
        note = ""
        if rec.get("armed"):  # cleared while armed, it no longer applies to anything
            note = (
                " (armed: applies when the next revision is created)"
                if action == "injected"
                else " (was armed: the next revision is not degraded)"
            )
        lines.append(f"{action} {rec.get('name')}{where}{note}")
    return CheckReport(
        "sandbox faults",
        extra={"action": action, "faults": records, "active": active},
        notes=lines,
        summary=f"active faults: {', '.join(sorted(active)) or 'none'}",
        outcome=Verdict.PASS,
    )
