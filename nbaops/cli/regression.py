"""Regression task: prediction quality of model versions against real lines, gated honestly."""

from __future__ import annotations

from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP


@task(
    help={
        "since": "First game date of the window (YYYY-MM-DD, today, yesterday; default: "
        "regression.window_days before --until).",
        "until": "Last game date of the window (default: yesterday, US Eastern).",
        "from": "Read graded predictions from this CSV or Parquet file instead of the "
        "warehouse (columns: docs/regression.md).",
        "golden": "Build the golden set from ../shared/data/nba (real game logs and lines, "
        "reference predictors) and evaluate it: what CI runs.",
        "champion": "Model version serving today (default: regression.champion, v8).",
        "challenger": "Candidate model version (default: regression.challenger, v9).",
        "html": "Write the HTML report here (default: a new file under "
        ".nbaops/reports/regression/; the path is printed).",
        "junit": "Also write JUnit XML here (for CI).",
        **COMMON_HELP,
    }
)
def regression(
    c: object,
    since: str | None = None,
    until: str | None = None,
    from_: str | None = None,
    golden: bool = False,
    champion: str | None = None,
    challenger: str | None = None,
    html: str | None = None,
    junit: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Hit rate, intervals, leakage and champion/challenger gates of graded predictions."""
    from pathlib import Path

    from nbaops.cli.runner import finish
    from nbaops.clock import parse_date
    from nbaops.context import Context
    from nbaops.regression.run import RegressionReport, RegressionRequest, run_regression

    def action(ctx: Context) -> RegressionReport:
        request = RegressionRequest(
            since=parse_date(since, "--since") if since else None,
            until=parse_date(until, "--until") if until else None,
            source=Path(from_) if from_ else None,
            golden=golden,
            champion=champion,
            challenger=challenger,
            html=Path(html) if html else None,
            junit=Path(junit) if junit else None,
        )
        return run_regression(ctx, request)

    finish(action, profile=profile, json_output=json, debug=debug)


TASKS = [regression]
