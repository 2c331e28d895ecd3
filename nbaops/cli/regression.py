"""Regression tasks: `inv regression` (gates) and `inv regression.golden` (the golden set)."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.tasks import task

from nbaops.cli.runner import COMMON_HELP


@task(
    help={
        "since": "First game date of the window (YYYY-MM-DD, today, yesterday; default: "
        "regression.window_days before --until).",
        "until": "Last game date of the window (default: yesterday, US Eastern).",
        "from": "Read graded predictions from this CSV or Parquet file instead of the "
        "warehouse (columns: docs/regression.md).",
        "golden": "Evaluate the committed golden set (golden/: real game logs and lines, "
        "stored versions v8/v9): what CI runs; needs no network and no ../shared.",
        "model": "MODULE:FUNCTION of a candidate predict(features) -> predicted points, run "
        "on the golden set and compared with the stored champion (implies --golden).",
        "predictions": "CSV or Parquet of the candidate's predictions for the golden "
        "player-games (game_id, player_lookup, predicted_points; implies --golden).",
        "champion": "Model version serving today (default: regression.champion, v8).",
        "challenger": "Candidate model version (default: regression.challenger, v9).",
        "html": "Write the HTML report here (default: a new file under "
        ".nbaops/reports/regression/; the path is printed).",
        "junit": "Also write JUnit XML here (for CI).",
        **COMMON_HELP,
    },
    default=True,
)
def regression(
    c: object,
    since: str | None = None,
    until: str | None = None,
    from_: str | None = None,
    golden: bool = False,
    model: str | None = None,
    champion: str | None = None,
    challenger: str | None = None,
    html: str | None = None,
    junit: str | None = None,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
    predictions: str | None = None,  # after profile: -p stays --profile, as in every task
) -> None:
    """Hit rate, intervals, leakage and champion/challenger gates of graded predictions."""
    from pathlib import Path

    from nbaops.cli.runner import finish
    from nbaops.clock import parse_date
    from nbaops.context import Context
    from nbaops.regression.report import RegressionReport
    from nbaops.regression.run import RegressionRequest, run_regression

    def action(ctx: Context) -> RegressionReport:
        request = RegressionRequest(
            since=parse_date(since, "--since") if since else None,
            until=parse_date(until, "--until") if until else None,
            source=Path(from_) if from_ else None,
            golden=golden,
            model=model,
            predictions=Path(predictions) if predictions else None,
            champion=champion,
            challenger=challenger,
            html=Path(html) if html else None,
            junit=Path(junit) if junit else None,
        )
        return run_regression(ctx, request)

    finish(action, profile=profile, json_output=json, debug=debug)


@task(
    name="golden",
    help={
        "build": "Write golden/ (Parquet + manifest) from ../shared/data/nba; without it, "
        "rebuild in memory and FAIL if the committed set differs.",
        **COMMON_HELP,
    },
)
def golden_set(
    c: object,
    build: bool = False,
    json: bool = False,
    profile: str | None = None,
    debug: bool = False,
) -> None:
    """Build (--build) or verify the committed golden set from the real NBA data."""
    from nbaops.cli.runner import finish
    from nbaops.context import Context
    from nbaops.regression.golden import BuildResult
    from nbaops.regression.golden import build as build_golden

    def action(ctx: Context) -> BuildResult:
        halflife = ctx.config.section("regression").get("golden", {}).get("ewma_halflife", 5.0)
        return build_golden(ctx.root, ewma_halflife=float(halflife), write=build)

    finish(action, profile=profile, json_output=json, debug=debug)


ns = Collection("regression", regression, golden_set)
