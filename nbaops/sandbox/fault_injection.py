"""Inject and clear the sandbox's faults (:mod:`nbaops.sandbox.faults` has the catalog).

Data faults regenerate the data from the seed with every active fault re-applied
(:func:`nbaops.sandbox.lifecycle.refresh`); API faults go to the stand-in
(:mod:`nbaops.local.api_faults`); :func:`on_new_revision` is the stand-in's hook
(wired by :mod:`nbaops.sandbox.world`) that consumes an armed ``next-revision-degraded``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.errors import UsageError
from nbaops.sandbox import lifecycle
from nbaops.sandbox.faults import (
    ARMED,
    CANARY_FAULTS,
    DATA_FAULTS,
    DEGRADES,
    DRIFT,
    active,
    known_faults,
    read_records,
    write_records,
)
from nbaops.verdict import Verdict

if TYPE_CHECKING:
    from rich.console import Console

    from nbaops.context import Context


def _resolve(ctx: Context, name: str, service: str | None) -> str | None:
    from nbaops.local.api_faults import API_FAULT_KINDS

    names = known_faults()
    if name not in names:
        raise UsageError(f"unknown fault {name!r}; known faults: {', '.join(names)}")
    if service is not None:
        ctx.config.service(service)  # UnknownServiceError listing the known ones
    if name in API_FAULT_KINDS:
        return service
    if name == ARMED or name in CANARY_FAULTS:
        return service or "prediction-worker"
    if name == DRIFT:
        return service or "phase4-processors"
    spec = DATA_FAULTS[name]
    if spec.fixed and service is not None and service != spec.default_service:
        raise UsageError(
            f"fault {name} belongs to {spec.default_service}; omit --service or pass "
            f"--service {spec.default_service}"
        )
    return service or spec.default_service


def inject(ctx: Context, name: str, service: str | None = None) -> FaultReport:
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
        return FaultReport("injected", [record], active(settings.home))
    record = {"name": name, "service": target, "injected_at": now.isoformat()}
    if name == DRIFT and target is not None:
        from nbaops.sandbox import platform_repo

        paths = ctx.config.service(target).source_paths
        service_paths = [p for p in paths if p.startswith("services/")] or list(paths)
        record["commits"] = platform_repo.add_drift_commits(
            settings.home, ctx.root, target, service_paths[0], now
        )
        record["repository"] = str(platform_repo.platform_path(settings.home))
        with locked(settings.home):
            write_records(settings.home, [*read_records(settings.home), record])
        return FaultReport("injected", [record], active(settings.home))
    with locked(settings.home):
        if name == ARMED:
            record["armed"] = True
        write_records(settings.home, [*read_records(settings.home), record])
        if name != ARMED and name not in CANARY_FAULTS:  # canary faults touch no data
            lifecycle.refresh(settings)
    return FaultReport("injected", [record], active(settings.home))


def clear(ctx: Context) -> FaultReport:
    """Clear every fault (data, armed and API faults) and restore the data from the seed."""
    from nbaops.local import api_faults
    from nbaops.local.state_files import locked

    settings = lifecycle.settings_for(ctx)
    lifecycle.ensure_sandbox(ctx)
    with locked(settings.home):
        cleared = [r for records in active(settings.home).values() for r in records]
        write_records(settings.home, [])
        api_faults.clear_api_faults(settings.home)
        lifecycle.refresh(settings)
    from nbaops.sandbox import platform_repo

    platform_repo.remove_platform_repo(settings.home)  # the next drift check re-clones
    return FaultReport("cleared", cleared, {})


def on_new_revision(home: Path, service: str, revision: str) -> bool:
    """The stand-in's hook: a new revision of ``service`` was just created.

    When ``next-revision-degraded`` is armed for the service, consume it: degrade the
    service's data, log ERROR entries tagged with ``revision`` and return True (the
    stand-in then marks the revision unhealthy). Otherwise return False (cheap: one
    small file read).
    """
    records = read_records(home)
    armed = [
        r
        for r in records
        if r.get("name") == ARMED and r.get("armed") and r.get("service") == service
    ]
    if not armed:
        return False
    from nbaops.local.state_files import locked

    with locked(home):
        records = read_records(home)
        for rec in records:
            if rec.get("name") == ARMED and rec.get("armed") and rec.get("service") == service:
                rec.update(
                    armed=False,
                    applied=DEGRADES.get(service, "error-logs"),
                    revision=revision,
                    applied_at=clock.now().isoformat(),
                )
                break
        else:
            return False
        write_records(home, records)
        settings = lifecycle.settings_from_marker(home)
        if settings is not None:
            lifecycle.refresh(settings)
    return True


@dataclass
class FaultReport:
    """What ``sandbox.fault`` / ``sandbox.clear`` did and what is active now."""

    action: str
    records: list[dict[str, Any]]
    active: dict[str, list[dict[str, Any]]]

    @property
    def verdict(self) -> Verdict:
        return Verdict.PASS

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "action": self.action,
            "faults": self.records,
            "active": self.active,
        }

    def render(self, console: Console) -> None:
        if not self.records:
            console.print(f"{self.action}: no faults were active")
        for rec in self.records:
            name = rec.get("name")
            where = f" on {rec['service']}" if rec.get("service") else ""
            note = " (armed: applies when the next revision is created)" if rec.get("armed") else ""
            console.print(f"{self.action} {name}{where}{note}")
        names = sorted(self.active)
        console.print(f"active faults: {', '.join(names) if names else 'none'}")
