"""Regression tasks: `inv regression` (gates) and `inv regression.golden` (the golden set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.collection import Collection

from nbaops.cli.task import nbaops_task

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report


@nbaops_task(
    "nbaops.regression.run.run_regression",
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
    },
    default=True,
    duckdb_ahead=True,  # every source is read through DuckDB
)
def regression(
    ctx: Context,
    since: str | None = None,
    until: str | None = None,
    from_: str | None = None,
    golden: bool = False,
    model: str | None = None,
    champion: str | None = None,
    challenger: str | None = None,
    html: str | None = None,
    junit: str | None = None,
    predictions: str | None = None,
) -> Report:
    """Hit rate, intervals, leakage and champion/challenger gates of graded predictions."""
    from pathlib import Path

    from nbaops.clock import parse_date
    from nbaops.regression.run import RegressionRequest, run_regression

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


@nbaops_task(
    "nbaops.regression.golden.build",
    name="golden",
    help={
        "build": "Write golden/ (Parquet + manifest) from ../shared/data/nba; without it, "
        "rebuild in memory and FAIL if the committed set differs.",
    },
)
def golden_set(ctx: Context, build: bool = False) -> Report:
    """Build (--build) or verify the committed golden set from the real NBA data."""
    from nbaops.regression.golden import build as build_golden
    from nbaops.regression.settings import RegressionSettings

    golden = ctx.config.settings("regression", RegressionSettings).golden
    return build_golden(ctx.root, ewma_halflife=golden.ewma_halflife, write=build)


ns = Collection("regression", regression, golden_set)
