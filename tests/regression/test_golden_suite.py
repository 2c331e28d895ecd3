"""The regression suite on the golden set built from ../shared/data/nba (what CI runs).

The reference predictors are not the production model: these tests gate the suite's own
logic (no leakage in the golden features, deterministic build, sanity), the leak hunt and
the relative comparisons on real lines and real outcomes. The HTML report and JUnit XML are
written to ``$NBAOPS_REGRESSION_REPORTS`` (nox) or a temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from nbaops import nba_data
from nbaops.config import load_config
from nbaops.regression import golden, sources
from nbaops.regression.run import RegressionReport, evaluate, write_outputs
from nbaops.regression.settings import RegressionSettings, settings_from_section
from nbaops.verdict import Verdict

pytestmark = [pytest.mark.regression, pytest.mark.realdata]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = nba_data.connect()
    try:
        golden.build_golden(connection, table="graded")
    except nba_data.NbaDataUnavailable as exc:
        pytest.skip(f"real NBA data not available: {exc}")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def settings() -> RegressionSettings:
    base = settings_from_section(load_config(profile="local").section("regression"))
    return base.with_versions(base.golden.champion, base.golden.challenger)


def _evaluate(
    con: duckdb.DuckDBPyConnection, settings: RegressionSettings, table: str = "graded"
) -> RegressionReport:
    loaded = sources.Loaded(label=f"golden ({table})", query="golden.build_golden", rows=0)
    return evaluate(con, settings, loaded, table=table)


def _check(report: RegressionReport, name: str):
    found = [c for c in report.checks if c.name == name]
    assert found, f"no check {name}"
    return found[0]


def _derive(con: duckdb.DuckDBPyConnection, name: str, select: str) -> str:
    """A copy of the golden table with one extra system derived from season_avg."""
    con.execute(
        f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM graded UNION ALL BY NAME "
        f"SELECT * REPLACE ({select}) FROM graded WHERE system_id = 'season_avg'"
    )
    return name


def test_golden_set_is_large_and_complete(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute(
        "SELECT count(DISTINCT (game_id, player_lookup)), count(DISTINCT system_id), "
        "count(*) FILTER (WHERE line_source <> 'REAL' OR line_value IS NULL), "
        "count(*) FILTER (WHERE created_at >= game_start) FROM graded"
    ).fetchone()
    assert row is not None
    targets, systems, unreal, late = row
    assert targets > 3000 and systems == 3
    assert unreal == 0 and late == 0


def test_golden_build_is_deterministic(con: duckdb.DuckDBPyConnection) -> None:
    def digest(c: duckdb.DuckDBPyConnection) -> str:
        rows = c.execute("SELECT * FROM graded ORDER BY prediction_id").fetchall()
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    again = nba_data.connect()
    golden.build_golden(again, table="graded")
    assert digest(again) == digest(con)


def test_reference_features_use_only_earlier_games(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute last10_avg in Python from the game logs for a sample: no leakage."""
    logs = con.execute(
        "SELECT player_lookup, game_date, points FROM game_logs ORDER BY game_date"
    ).fetchall()
    history: dict[str, list[tuple[object, int]]] = {}
    for lookup, day, points in logs:
        history.setdefault(lookup, []).append((day, points))
    sample = con.execute(
        "SELECT player_lookup, game_date, predicted_points FROM graded "
        "WHERE system_id = 'last10_avg' AND hash(prediction_id) % 10 = 0"
    ).fetchall()
    assert len(sample) > 200
    for lookup, day, predicted in sample:
        before = [p for d, p in history[lookup] if d < day][-10:]
        assert predicted == pytest.approx(statistics.fmean(before), abs=1e-3), (lookup, day)


def test_suite_on_golden_set_measures_honestly(
    con: duckdb.DuckDBPyConnection, settings: RegressionSettings, tmp_path: Path
) -> None:
    report = _evaluate(con, settings)
    reports = Path(os.environ.get("NBAOPS_REGRESSION_REPORTS", str(tmp_path)))
    write_outputs(report, html=reports / "golden.html", junit=reports / "golden-junit.xml")
    assert report.html_path is not None and report.html_path.is_file()
    assert report.junit_path is not None and report.junit_path.is_file()
    # Sanity and leak hunt: the golden set is clean by construction.
    for name in ("no_duplicate_predictions", "real_lines_only", "created_before_tipoff"):
        assert _check(report, name).verdict is Verdict.PASS, name
    for version in (settings.champion, settings.challenger):
        assert _check(report, f"leakage:{version}").verdict is Verdict.PASS
        g = report.metrics.overall(version)
        assert g is not None and g.hit_rate is not None
        # Lines are efficient: a season average does not beat them by much, and the
        # suite must not report it as "too good to be true".
        assert 0.45 < g.hit_rate < settings.hit_rate_ceiling
        assert g.decided >= settings.min_bets
        assert g.pushes > 0  # whole-number lines exist; pushes are counted, not graded
    # The relative comparison is measured (enough shared bets), not inconclusive.
    rel = _check(report, f"challenger_vs_champion:{settings.challenger}>{settings.champion}")
    assert rel.verdict in (Verdict.PASS, Verdict.FAIL)
    comparison = report.metrics.comparisons[0]
    assert comparison.paired_bets >= settings.min_paired_bets


def test_an_oracle_is_too_good_to_be_true_and_its_leak_is_found(
    con: duckdb.DuckDBPyConnection, settings: RegressionSettings
) -> None:
    table = _derive(
        con,
        "with_oracle",
        "'oracle' AS system_id, 'oracle:' || prediction_id AS prediction_id, "
        "actual_points + (hash(prediction_id) % 3) - 1 AS predicted_points, "
        "CASE WHEN actual_points + (hash(prediction_id) % 3) - 1 > line_value THEN 'OVER' "
        "ELSE 'UNDER' END AS recommendation",
    )
    report = _evaluate(con, settings.with_versions("season_avg", "oracle"), table)
    assert _check(report, "too_good_to_be_true:oracle").verdict is Verdict.FAIL
    assert _check(report, "leakage:oracle").verdict is Verdict.FAIL
    assert report.verdict is Verdict.FAIL


def test_predictions_made_after_tipoff_are_caught(
    con: duckdb.DuckDBPyConnection, settings: RegressionSettings
) -> None:
    table = _derive(
        con,
        "with_late",
        "'late' AS system_id, 'late:' || prediction_id AS prediction_id, "
        "CASE WHEN hash(prediction_id) % 50 = 0 THEN game_start + INTERVAL 10 MINUTE "
        "ELSE created_at END AS created_at",
    )
    report = _evaluate(con, settings.with_versions("season_avg", "late"), table)
    late = _check(report, "created_before_tipoff")
    assert late.verdict is Verdict.FAIL and isinstance(late.value, int) and late.value > 0


def test_a_degraded_challenger_fails_and_a_copy_ties(
    con: duckdb.DuckDBPyConnection, settings: RegressionSettings
) -> None:
    # Flip the side of a quarter of the champion's winning bets: a clear regression.
    flip = (
        "recommendation IN ('OVER', 'UNDER') AND hash(prediction_id) % 4 = 0 AND "
        "((recommendation = 'OVER' AND actual_points > line_value) OR "
        "(recommendation = 'UNDER' AND actual_points < line_value))"
    )
    table = _derive(
        con,
        "with_degraded",
        "'degraded' AS system_id, 'degraded:' || prediction_id AS prediction_id, "
        f"CASE WHEN {flip} THEN (CASE recommendation WHEN 'OVER' THEN 'UNDER' ELSE 'OVER' END) "
        "ELSE recommendation END AS recommendation, "
        "predicted_points + 3.0 AS predicted_points",
    )
    report = _evaluate(con, settings.with_versions("season_avg", "degraded"), table)
    assert _check(report, "challenger_vs_champion:degraded>season_avg").verdict is Verdict.FAIL
    assert _check(report, "mae_vs_champion:degraded>season_avg").verdict is Verdict.FAIL

    table = _derive(
        con, "with_copy", "'copy' AS system_id, 'copy:' || prediction_id AS prediction_id"
    )
    report = _evaluate(con, settings.with_versions("season_avg", "copy"), table)
    tie = _check(report, "challenger_vs_champion:copy>season_avg")
    assert tie.verdict is Verdict.PASS and tie.message.startswith("tie")
    assert _check(report, "mae_vs_champion:copy>season_avg").verdict is Verdict.PASS


def test_reference_predictors_do_not_pass_production_floors(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Honesty: the prod profile's floors are not met by a season average."""
    prod = settings_from_section(load_config(profile="prod").section("regression"))
    prod = prod.with_versions("season_avg", "ewma")
    report = _evaluate(con, prod)
    assert _check(report, "hit_rate_floor:season_avg").verdict is Verdict.FAIL
    # No reference predictor is demonstrably profitable against the real lines.
    for system in report.metrics.systems:
        g = report.metrics.overall(system)
        assert g is not None and g.hit_low < report.metrics.break_even
