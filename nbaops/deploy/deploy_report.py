"""The report of one ``inv deploy``: what it did, its verdict, and how it renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbaops.verdict import CheckResult, Verdict, worst

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class DeployReport:
    """Everything a deploy did, as a :class:`~nbaops.report.Report`.

    Its own class, not a :class:`~nbaops.report.CheckReport`: a deploy is a timeline (the
    checklist, then the steps, the plan, manual commands) with an outcome that is not the
    worst of its checks; it renders each list through ``CheckReport`` itself.
    """

    service: str
    deploy_id: str
    dry_run: bool
    outcome: str = "failed"
    verdict_override: Verdict | None = None
    predeploy: list[CheckResult] = field(default_factory=list)
    steps: list[CheckResult] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    commit: str | None = None
    image: str | None = None
    revision_before: str | None = None
    new_revision: str | None = None
    revision_after: str | None = None
    canary: int | None = None
    model_version: str | None = None  # --model-version (the service's model_env)
    manual: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: str = ""
    canary_analysis: dict[str, Any] | None = None  # the last round's (nbaops.canary)

    @property
    def verdict(self) -> Verdict:
        if self.verdict_override is not None:
            return self.verdict_override
        return worst(c.verdict for c in [*self.predeploy, *self.steps])

    def final_line(self) -> str:
        return self.summary or f"deploy {self.service}: {self.outcome}"

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "outcome": self.outcome,
            "service": self.service,
            "deploy_id": self.deploy_id,
            "dry_run": self.dry_run,
            "commit": self.commit,
            "image": self.image,
            "revision_before": self.revision_before,
            "new_revision": self.new_revision,
            "revision_after": self.revision_after,
            "canary_percent": self.canary,
            "model_version": self.model_version,
            "canary_analysis": self.canary_analysis,
            "checks": [c.to_json() for c in self.predeploy],
            "steps": [c.to_json() for c in self.steps],
            "plan": self.plan,
            "manual_commands": self.manual,
            "notes": self.notes,
            "summary": self.final_line(),
        }

    def render(self, console: Console) -> None:
        """The checklist, then the steps with the plan, notes and manual commands under them."""
        from nbaops.report import CheckReport

        if self.predeploy:
            CheckReport(f"pre-deploy {self.service}", self.predeploy).render(console)
        lines = [f"Plan (dry run, nothing changed) for {self.service}:"] if self.plan else []
        lines += [f"  {line}" for line in self.plan] + [f"note: {n}" for n in self.notes]
        if self.manual:
            lines += ["MANUAL ACTION NEEDED — run:", *(f"  {c}" for c in self.manual)]
        summary, verdict = self.final_line(), self.verdict
        CheckReport(
            f"deploy {self.service}", self.steps, notes=lines, summary=summary, outcome=verdict
        ).render(console)
