"""``inv full-deploy``: the deploy (checklist with tests always run) and then verify-deploy.
``--dry-run`` is the deploy's dry run (tests included); verify-deploy is only named.

The deploy already runs the pre-deploy checklist; ``full-deploy`` forbids skipping its
tests and, when the deploy succeeded, verifies what serves afterwards. The verdict is the
worse of the two (a refused or rolled-back deploy is not verified: its report says why).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops.verdict import Verdict, worst

if TYPE_CHECKING:
    from rich.console import Console

    from nbaops.context import Context
    from nbaops.deploy.deploy import DeployRequest
    from nbaops.deploy.deploy_report import DeployReport
    from nbaops.deploy.progress import Progress
    from nbaops.report import CheckReport


@dataclass
class FullDeployReport:
    """Two reports in one (the deploy, then verify-deploy), not a list of checks: the JSON
    nests both documents and the rendering prints one after the other."""

    deploy: DeployReport
    verify: CheckReport | None

    @property
    def verdict(self) -> Verdict:
        verdicts = [self.deploy.verdict]
        if self.verify is not None:
            verdicts.append(self.verify.verdict)
        return worst(verdicts)

    def final_line(self) -> str:
        if self.deploy.dry_run:
            return f"{self.deploy.final_line()} (then verify-deploy of what serves)"
        if self.verify is None:
            return f"{self.deploy.final_line()} (verify-deploy skipped)"
        return f"{self.deploy.final_line()}; verify-deploy {self.verify.verdict.value}"

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "deploy": self.deploy.to_json(),
            "verify": self.verify.to_json() if self.verify else None,
            "summary": self.final_line(),
        }

    def render(self, console: Console) -> None:
        from nbaops.report import emit, verdict_part

        self.deploy.render(console)
        if self.verify is not None:
            self.verify.render(console)
        emit(console, verdict_part(self.verdict), " ", self.final_line())


def run_full_deploy(
    ctx: Context, req: DeployRequest, *, progress: Progress | None = None
) -> FullDeployReport:
    """Deploy with tests forced on, then verify-deploy when the deploy succeeded.

    With ``req.dry_run`` only the deploy's dry run runs (the checklist, its tests included,
    and the plan); verify-deploy is named, not run: it may recover an interrupted deploy,
    which changes the cloud.
    """
    from nbaops.deploy.deploy import run_deploy
    from nbaops.deploy.verify import run_verify

    report = run_deploy(ctx, dataclasses.replace(req, skip_tests=False), progress=progress)
    verify = None
    if report.outcome == "success":
        if progress is not None:
            progress.step("verify", "verify-deploy of what serves now")
        verify = run_verify(ctx, req.service)
    return FullDeployReport(report, verify)
