"""nbaops.regression gates and metrics on crafted data sets, sources and the entry point."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nbaops.errors import UsageError
from nbaops.regression import metrics, sources
from nbaops.regression.run import RegressionReport, evaluate, write_outputs
from nbaops.regression.settings import RegressionSettings
from nbaops.settings import load_section
from nbaops.verdict import Verdict

START = dt.datetime(2024, 11, 1, 23, 0, tzinfo=dt.UTC)
SETTINGS = RegressionSettings(champion="v8", challenger="v9", min_bets=100, min_paired_bets=100)


def _row(
    i: int,
    system: str,
    *,
    hit: bool,
    side: str = "OVER",
    line: float = 20.5,
    predicted: float | None = None,
    actual: float | None = None,
    created: dt.datetime | None = None,
    line_source: str = "REAL",
    game_id: str | None = None,
) -> dict[str, Any]:
    """One graded prediction whose outcome is ``hit`` (unless ``actual`` is given)."""
    if actual is None:
        above = (side == "OVER") == hit
        actual = line + 3.5 if above else line - 3.5
    if predicted is None:
        predicted = line + 2.0 if side == "OVER" else line - 2.0
    return {
        "prediction_id": f"{system}-{i}",
        "game_id": game_id or f"g{i}",
        "game_date": dt.date(2024, 11, 1) + dt.timedelta(days=i % 28),
        "player_lookup": f"player{i}",
        "system_id": system,
        "predicted_points": predicted,
        "line_value": line,
        "line_source": line_source,
        "recommendation": side,
        "confidence": 0.6,
        "actual_points": actual,
        "created_at": created or START - dt.timedelta(hours=6),
        "game_start": START,
        "is_home": i % 2 == 0,
        "minutes": 20 + i % 20,
    }


def _table(rows: Iterable[dict[str, Any]], con: duckdb.DuckDBPyConnection | None = None):
    con = con or duckdb.connect()
    sources._rows_to_table(con, list(rows), "graded")
    return con


def _run(
    rows: Iterable[dict[str, Any]], settings: RegressionSettings = SETTINGS
) -> RegressionReport:
    con = _table(rows)
    loaded = sources.Loaded(label="crafted", query="crafted rows", rows=0)
    return evaluate(con, settings, loaded)


def _check(report: RegressionReport, name: str):
    matches = [c for c in report.checks if c.name == name]
    assert matches, f"no check {name}: {[c.name for c in report.checks]}"
    return matches[0]


def _pattern(n: int, rate: float) -> list[bool]:
    """n outcomes with round(n * rate) hits, spread evenly (deterministic)."""
    hits = round(n * rate)
    return [(i * hits) // n != ((i + 1) * hits) // n for i in range(n)]


def _pair(n: int, champ_rate: float, chall_rate: float, **kw: Any) -> list[dict[str, Any]]:
    rows = [_row(i, "v8", hit=h, **kw) for i, h in enumerate(_pattern(n, champ_rate))]
    rows += [_row(i, "v9", hit=h, **kw) for i, h in enumerate(_pattern(n, chall_rate))]
    return rows


# --------------------------------------------------------------------------- metrics


def test_pushes_are_counted_and_excluded_from_the_hit_rate() -> None:
    rows = [_row(i, "v8", hit=True) for i in range(6)]
    rows += [_row(i, "v8", hit=False) for i in range(6, 10)]
    rows += [_row(i, "v8", hit=True, line=20.0, actual=20.0) for i in range(10, 13)]  # pushes
    rows += [_row(i, "v8", hit=True, side="PASS") for i in range(13, 15)]
    con = _table(rows)
    m = metrics.compute(con)
    g = m.overall("v8")
    assert g is not None
    assert (g.predictions, g.bets, g.pushes, g.decided, g.hits, g.passes) == (15, 13, 3, 10, 6, 2)
    assert g.hit_rate == pytest.approx(0.6)
    assert g.pass_share == pytest.approx(2 / 15)
    # MAE over all predictions: 10 at |±2 - (±3.5)| = 1.5... computed by hand per row
    expected_abs = [abs(r["predicted_points"] - r["actual_points"]) for r in rows]
    assert g.mae == pytest.approx(sum(expected_abs) / len(expected_abs))
    expected_bias = [r["predicted_points"] - r["actual_points"] for r in rows]
    assert g.bias == pytest.approx(sum(expected_bias) / len(expected_bias))


def test_segments_split_home_away_side_and_line_buckets() -> None:
    rows = [_row(i, "v8", hit=i % 3 != 0, side="OVER" if i < 10 else "UNDER") for i in range(20)]
    rows[0]["line_value"] = 8.5
    m = metrics.compute(_table(rows))
    venues = {g.bucket: g.predictions for g in m.segment("venue", "v8")}
    assert venues == {"home": 10, "away": 10}
    sides = {g.bucket: g.bets for g in m.segment("side", "v8")}
    assert sides == {"OVER": 10, "UNDER": 10}
    lines = {g.bucket: g.predictions for g in m.segment("line", "v8")}
    assert lines == {"<10": 1, "20-25": 19}
    assert sum(g.predictions for g in m.segment("minutes", "v8")) == 20
    assert sum(g.predictions for g in m.segment("week", "v8")) == 20


def test_missing_required_column_is_a_usage_error() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE graded AS SELECT 'g1' AS game_id, 1.0 AS predicted_points")
    with pytest.raises(UsageError, match="lack column"):
        metrics.compute(con)


def test_one_million_rows_synthetic_table_has_expected_shape() -> None:
    con = duckdb.connect()
    metrics.synthetic_table(con, 20_000, systems=("v8", "v9"))
    m = metrics.compute(con, pairs=[("v8", "v9")])
    assert m.rows == 20_000 and m.systems == ["v8", "v9"]
    g = m.overall("v8")
    assert g is not None and g.hit_rate is not None and 0.5 < g.hit_rate < 0.6
    assert m.comparisons[0].shared == 10_000


# --------------------------------------------------------------------------- gates


def test_a_stored_p_value_just_below_one_is_not_stored_as_one() -> None:
    """A challenger far better than its champion: p(worse) = 0.9999997 was stored as 1
    (four decimals) beside a message reading "p(worse) = > 0.9999": a p-value of 1 claims
    a certainty the test never gives (report.format_p)."""
    check = _check(_run(_pair(5000, 0.53, 0.5802)), "challenger_vs_champion:v9>v8")
    assert check.verdict is Verdict.PASS and "p(worse) = > 0.9999" in check.message
    assert isinstance(check.value, float) and 0.9999 < check.value < 1.0, check.value


def test_clear_regression_fails_the_paired_test() -> None:
    report = _run(_pair(1000, 0.60, 0.50))
    check = _check(report, "challenger_vs_champion:v9>v8")
    assert check.verdict is Verdict.FAIL
    # the value is what the threshold compares, the one-sided p; the gap is in the message
    assert check.value is not None and check.value < 0.05 and check.unit == "p-value"
    assert "(-10.0 points)" in check.message and "significantly worse" in check.message
    assert report.verdict is Verdict.FAIL


def test_small_sample_is_inconclusive_never_pass_or_fail() -> None:
    # 40 bets at 80% would clear any floor by point estimate; too few to judge.
    report = _run(_pair(40, 0.5, 0.5) + [_row(i, "v10", hit=True) for i in range(3)])
    floor = _check(report, "hit_rate_floor:v8")
    assert floor.verdict is Verdict.INCONCLUSIVE
    assert "too few" in floor.message
    assert _check(report, "challenger_vs_champion:v9>v8").verdict is Verdict.INCONCLUSIVE
    assert report.verdict is Verdict.INCONCLUSIVE


def test_tie_is_handled() -> None:
    rows = _pair(400, 0.55, 0.55)
    report = _run(rows)
    check = _check(report, "challenger_vs_champion:v9>v8")
    assert check.verdict is Verdict.PASS
    assert check.message.startswith("tie")
    assert check.value is not None and check.value >= 0.5  # a tie is no evidence of worse
    mae = _check(report, "mae_vs_champion:v9>v8")
    assert mae.verdict is Verdict.PASS and mae.value == 0


def test_a_leak_is_caught() -> None:
    # v9 "predicts" the actual points: 100% hit rate, exact matches.
    # v8: lines that vary (a constant line has no correlation with anything: see below)
    rows = [_row(i, "v8", hit=h, line=14.5 + i % 11) for i, h in enumerate(_pattern(500, 0.53))]
    for i in range(500):
        actual = 25.0 if i % 2 else 15.0
        rows.append(
            _row(
                i,
                "v9",
                hit=True,
                side="OVER" if actual > 20.5 else "UNDER",
                predicted=actual,
                actual=actual,
            )
        )
    report = _run(rows)
    assert _check(report, "leakage:v9").verdict is Verdict.FAIL
    too_good = _check(report, "too_good_to_be_true:v9")
    assert too_good.verdict is Verdict.FAIL
    assert "within 0.5 points of the actual" in too_good.message
    assert _check(report, "leakage:v8").verdict is Verdict.PASS


def test_a_correlation_gain_just_past_its_limit_is_not_shown_as_the_limit() -> None:
    """corr(prediction, actual) beat the line's by 0.0806 against a configured limit of
    0.0804: the FAIL read "by 0.08 (limit 0.08)" and the threshold "<= 0.08", two decimals
    rounding the gain onto its limit and the limit onto a value nobody configured."""
    rows = []
    for i in range(400):
        line = 10.5 + (i * 7) % 20
        actual = line + ((i * 13) % 11 - 5)
        predicted = line + 0.6 * ((i * 13) % 11 - 5) + ((i * 3) % 5 - 2)
        side = "OVER" if predicted > line else "UNDER"
        rows.append(
            _row(i, "v8", hit=True, line=line, predicted=predicted, actual=actual, side=side)
        )
    leakage = replace(SETTINGS.leakage, max_exact_share=0.5, max_corr_gain=0.0804)
    check = _check(_run(rows, replace(SETTINGS, challenger="", leakage=leakage)), "leakage:v8")
    assert check.verdict is Verdict.FAIL
    assert "by 0.081 (limit 0.0804)" in check.message, check.message
    assert "corr gain over the line <= 0.0804," in check.threshold


def test_leakage_whose_correlations_cannot_be_computed_is_not_ruled_out() -> None:
    """A constant line (or prediction) has no correlation: the gate said PASS with
    "corr - vs line -", one of its three signals unmeasured."""
    rows = [_row(i, "v8", hit=h) for i, h in enumerate(_pattern(500, 0.53))]  # line 20.5
    leak = _check(_run(rows), "leakage:v8")
    assert leak.verdict is Verdict.INCONCLUSIVE, leak.message
    assert "correlations cannot be computed" in leak.message


def test_leakage_on_a_tiny_sample_is_inconclusive_unless_a_prediction_came_late() -> None:
    # ADR 0006: below min_bets a gate is INCONCLUSIVE, never PASS or FAIL. One of three
    # predictions within 0.5 points (honest models: ~6%) FAILed the run.
    rows = [_row(i, "v8", hit=True) for i in range(3)]
    rows[0]["predicted_points"] = rows[0]["actual_points"] + 0.2
    gate = _check(_run(rows), "leakage:v8")
    assert gate.verdict is Verdict.INCONCLUSIVE and gate.value is None
    assert "too few graded predictions" in gate.message
    assert f"(3 < {SETTINGS.min_bets})" in gate.message
    rows[1]["created_at"] = START + dt.timedelta(minutes=5)  # a fact, not a statistic
    gate = _check(_run(rows), "leakage:v8")
    assert gate.verdict is Verdict.FAIL and "created at or after tip-off" in gate.message


def test_too_good_without_leak_signature_warns() -> None:
    report = _run(_pair(500, 0.53, 0.62))
    check = _check(report, "too_good_to_be_true:v9")
    assert check.verdict is Verdict.WARN
    assert "above the target band" in check.message


def test_a_hit_rate_just_above_the_ceiling_is_not_shown_as_the_ceiling() -> None:
    """58.02% WARNed as "hit rate 58.0% is above the target band" beside "hit rate <= 58.0%"
    (the checks' percents were fixed for this; the gates' were not)."""
    check = _check(_run(_pair(5000, 0.53, 0.5802)), "too_good_to_be_true:v9")
    assert check.verdict is Verdict.WARN
    assert "hit rate 58.02% is above the target band" in check.message, check.message
    assert check.threshold.startswith("hit rate <= 58.0% ")


def test_a_hit_rate_just_above_a_non_whole_ceiling_is_not_shown_as_the_ceiling() -> None:
    """A ceiling of 58.5% (not a whole percent) and a hit rate of 58.52%: the WARN read
    "hit rate 58.5% is above the target band" beside "hit rate <= 58.5%"."""
    settings = replace(SETTINGS, hit_rate_ceiling=0.585)
    check = _check(_run(_pair(5000, 0.53, 0.5852), settings), "too_good_to_be_true:v9")
    assert check.verdict is Verdict.WARN
    assert check.threshold.startswith("hit rate <= 58.5% ")
    assert "hit rate 58.52% is above the target band" in check.message, check.message


def test_a_stored_hit_rate_just_above_the_ceiling_does_not_round_onto_it() -> None:
    """11601 of 20001 is 0.580021: the stored value was round(rate, 4) = 0.58, the ceiling
    itself, on a WARN whose threshold reads "hit rate <= 58.0%"."""
    rows = [_row(i, "v8", hit=h) for i, h in enumerate(_pattern(20001, 0.58002))]
    check = _check(_run(rows, replace(SETTINGS, challenger="")), "too_good_to_be_true:v8")
    assert check.verdict is Verdict.WARN
    assert check.value is not None and check.value > 0.58, check.value


def test_a_stored_mae_gap_just_over_the_margin_does_not_round_onto_it() -> None:
    """v9 misses by 1 point more than v8 on all 400 but one, where by 1.016: a gap of
    1.00004 was stored as 1.0 on a WARN beside "<= 1.0 points"."""
    rows = _pair(400, 0.55, 0.55)
    for r in rows:
        miss = 2.0 if r["system_id"] == "v8" else 3.0
        r["predicted_points"] = r["actual_points"] + miss
    rows[-1]["predicted_points"] = rows[-1]["actual_points"] + 3.016
    mae = _check(_run(rows, replace(SETTINGS, mae_margin=1.0)), "mae_vs_champion:v9>v8")
    assert mae.verdict is Verdict.WARN, mae.message
    assert mae.value is not None and mae.value > 1.0, mae.value
    assert ": +1.00004 (interval" in mae.message, mae.message  # was "+1.000"


def test_predictions_created_after_tipoff_fail() -> None:
    rows = _pair(300, 0.55, 0.55)
    for r in rows[-10:]:
        r["created_at"] = START + dt.timedelta(minutes=5)
    report = _run(rows)
    late = _check(report, "created_before_tipoff")
    assert late.verdict is Verdict.FAIL and late.value == 10
    assert _check(report, "leakage:v9").verdict is Verdict.FAIL


def test_unknown_timestamps_are_inconclusive_not_pass() -> None:
    rows = _pair(300, 0.55, 0.55)
    for r in rows:
        r["created_at"] = None
    report = _run(rows)
    assert _check(report, "created_before_tipoff").verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(("unknown", "verdict"), [(10, Verdict.WARN), (400, Verdict.INCONCLUSIVE)])
def test_timestamps_known_for_only_part_of_the_rows_are_never_a_pass(
    unknown: int, verdict: Verdict
) -> None:
    """7,073 of 7,854 rows without created_at: "PASS all 781 predictions created before
    tip-off", the rest never mentioned."""
    rows = _pair(300, 0.55, 0.55)  # 600 graded rows
    for r in rows[:unknown]:
        r["created_at"] = None
    gate = _check(_run(rows), "created_before_tipoff")
    assert gate.verdict is verdict, gate.message
    assert f"{unknown} without created_at could not be judged" in gate.message


def test_duplicates_and_missing_real_lines_fail_sanity() -> None:
    rows = _pair(300, 0.55, 0.55)
    dup = dict(rows[0], prediction_id="v8-dup")
    rows.append(dup)
    rows[5]["line_source"] = "ESTIMATED"
    report = _run(rows)
    dups = _check(report, "no_duplicate_predictions")
    assert dups.verdict is Verdict.FAIL and dups.value == 1
    lines = _check(report, "real_lines_only")
    assert lines.verdict is Verdict.FAIL and lines.value == 1
    # Metrics keep one row per (system, game, player).
    assert report.metrics.overall("v8") is not None
    assert report.metrics.overall("v8").predictions == 300  # type: ignore[union-attr]


def test_real_lines_gate_is_off_when_not_required() -> None:
    rows = _pair(300, 0.55, 0.55, line_source="ESTIMATED")
    report = _run(rows, replace(SETTINGS, real_lines_only=False))
    assert not [c for c in report.checks if c.name == "real_lines_only"]


def test_floor_fails_when_the_lower_bound_is_below_it() -> None:
    report = _run(_pair(2000, 0.47, 0.47), replace(SETTINGS, hit_rate_floor=0.5))
    check = _check(report, "hit_rate_floor:v8")
    assert check.verdict is Verdict.FAIL and "does not clear" in check.message
    # 49% clears the local guard floor (45%): its lower bound is ~46.8%.
    assert _check(_run(_pair(2000, 0.49, 0.49)), "hit_rate_floor:v8").verdict is Verdict.PASS


def test_every_gate_value_states_its_unit() -> None:
    """A gate stores a hit rate as a share (0.5802) beside a threshold shown in percent
    ("hit rate <= 58.0%"); without a unit, the JSON and the terminal read "value=0.5802"
    beside "58.0%", and a count beside "FAIL > 1.0%". Every measured value names its unit,
    as every check's does (test_report_render: "a value is never shown without its unit")."""
    rows = _pair(5000, 0.53, 0.5802)
    rows.append({**_row(10**6, "v8", hit=True), "actual_points": None})
    report = _run(rows)
    units = {c.name: c.unit for c in report.checks}
    assert units["too_good_to_be_true:v9"] == "share"
    assert units["hit_rate_floor:v9"] == "share (95% lower bound)"
    assert units["mae_vs_champion:v9>v8"] == "points"
    assert units["outcomes_present"] == "rows"
    for check in report.checks:
        if isinstance(check.value, (int, float)):
            assert check.unit, check.name
    assert _run([]).checks[0].unit == "predictions"  # graded_predictions: 0


def test_floor_uses_the_interval_not_the_point_estimate() -> None:
    # 51% on 500 bets: the point estimate is above 50%, the lower bound is not.
    report = _run(_pair(500, 0.51, 0.51), replace(SETTINGS, hit_rate_floor=0.5))
    check = _check(report, "hit_rate_floor:v8")
    # the value is the lower bound the threshold compares (~46.6%), not the 51% point
    assert check.value is not None and 0.46 < check.value < 0.5
    assert check.unit == "share (95% lower bound)" and "hit rate 51.0%" in check.message
    assert check.verdict is Verdict.FAIL


def test_mae_margin() -> None:
    rows = _pair(400, 0.55, 0.55)
    for r in rows:  # v8 misses by 2 points everywhere, v9 by 3
        r["predicted_points"] = r["actual_points"] + (3.0 if r["system_id"] == "v9" else 2.0)
    report = _run(rows)
    mae = _check(report, "mae_vs_champion:v9>v8")
    assert mae.value == pytest.approx(1.0)
    assert mae.verdict is Verdict.FAIL
    loose = _check(_run(rows, replace(SETTINGS, mae_margin=1.5)), "mae_vs_champion:v9>v8")
    assert loose.verdict is Verdict.PASS


def test_missing_version_and_empty_window_are_inconclusive() -> None:
    report = _run(_pair(300, 0.55, 0.55), replace(SETTINGS, challenger="v10"))
    check = _check(report, "hit_rate_floor:v10")
    assert check.verdict is Verdict.INCONCLUSIVE and "versions present: v8, v9" in check.message
    assert _check(report, "challenger_vs_champion:v10>v8").verdict is Verdict.INCONCLUSIVE
    empty = _run([])
    assert empty.verdict is Verdict.INCONCLUSIVE
    assert empty.checks[0].name == "graded_predictions"


# --------------------------------------------------------------------------- settings


def test_regression_settings_merge_and_validate() -> None:
    s = load_section(
        {"min_bets": 50, "leakage": {"max_exact_share": 0.3}}, RegressionSettings, "regression"
    )
    assert s.min_bets == 50 and s.leakage.max_exact_share == 0.3
    assert s.leakage.max_corr_gain == 0.10
    from nbaops.errors import ConfigError

    with pytest.raises(ConfigError, match="hit_rate_floor"):
        load_section(
            {"hit_rate_floor": 0.6, "hit_rate_ceiling": 0.58}, RegressionSettings, "regression"
        )
    with pytest.raises(ConfigError, match="alpha"):
        load_section({"alpha": 1.5}, RegressionSettings, "regression")


def test_profiles_gate_differently() -> None:
    from nbaops.config import load_config

    local = load_config(profile="local").settings("regression", RegressionSettings)
    prod = load_config(profile="prod").settings("regression", RegressionSettings)
    assert prod.hit_rate_floor > local.hit_rate_floor
    assert prod.min_bets > local.min_bets


# --------------------------------------------------------------------------- outputs


def test_html_and_junit_outputs(tmp_path: Path) -> None:
    report = _run(_pair(1000, 0.60, 0.50))
    write_outputs(report, html=tmp_path / "r" / "report.html", junit=tmp_path / "j.xml")
    assert report.html_path == (tmp_path / "r" / "report.html").resolve()
    text = report.html_path.read_text(encoding="utf-8")
    assert text.count("<svg") == 3
    assert "Hit rate by week" in text and "Calibration" in text and "prediction errors" in text
    assert "challenger_vs_champion:v9&gt;v8" in text
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("failures", "0")) == sum(c.verdict is Verdict.FAIL for c in report.checks)
    failing = [tc.get("name") for tc in suite if tc.find("failure") is not None]
    assert "challenger_vs_champion:v9>v8" in failing
    doc = report.to_json()
    assert json.loads(json.dumps(doc, default=str))["verdict"] == "FAIL"


def test_inconclusive_is_skipped_in_junit(tmp_path: Path) -> None:
    report = _run(_pair(40, 0.5, 0.5))
    write_outputs(report, html=None, junit=tmp_path / "j.xml")
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None and int(suite.get("skipped", "0")) >= 3


# --------------------------------------------------------------------------- sources + entry


def _write_file(tmp_path: Path, suffix: str) -> Path:
    con = _table(_pair(300, 0.56, 0.55))
    path = tmp_path / f"graded{suffix}"
    fmt = "PARQUET" if suffix == ".parquet" else "CSV, HEADER"
    con.execute(f"COPY graded TO '{path}' (FORMAT {fmt})")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_load_file_csv_and_parquet(tmp_path: Path, suffix: str) -> None:
    con = duckdb.connect()
    loaded = sources.load_file(con, _write_file(tmp_path, suffix))
    assert loaded.rows == 600
    m = metrics.compute(con)
    assert m.systems == ["v8", "v9"]


def test_load_file_replaces_whatever_holds_the_name(tmp_path: Path) -> None:
    """A Parquet file replaces a table of the same name (as a view), a CSV file replaces
    a view (as a table), and either replaces a source loaded before: no "already exists"
    and no "is of type Table" error."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {sources.TABLE} (x INTEGER)")

    def kinds() -> list[tuple[Any, ...]]:
        return con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = $t",
            {"t": sources.TABLE},
        ).fetchall()

    assert sources.load_file(con, _write_file(tmp_path, ".parquet")).rows == 600
    assert kinds() == [("VIEW",)]
    assert sources.load_file(con, _write_file(tmp_path, ".csv")).rows == 600
    assert kinds() == [("BASE TABLE",)]
    assert metrics.compute(con).systems == ["v8", "v9"]


def test_load_file_errors(tmp_path: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(UsageError, match="file not found"):
        sources.load_file(con, tmp_path / "nope.csv")
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="expected a .csv or .parquet"):
        sources.load_file(con, tmp_path / "x.json")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="missing column"):
        sources.load_file(con, tmp_path / "bad.csv")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_NOW", "2024-12-20T15:00:00Z")
    return tmp_path


def test_entry_point_from_file_exit_codes_and_printed_path(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.cli.runner import run
    from nbaops.regression.run import RegressionRequest, run_regression

    path = _write_file(isolated, ".csv")
    request = RegressionRequest(source=path, junit=isolated / "junit.xml")
    code = run(lambda ctx: run_regression(ctx, request), json_output=True)
    doc = json.loads(capsys.readouterr().out)
    # 300 bets per version at the local settings (min_bets 300 decided) → gates measured.
    assert code in (0, 1, 3)
    assert doc["html"].startswith(str(isolated / "home" / "reports" / "regression"))
    assert Path(doc["html"]).is_file() and (isolated / "junit.xml").is_file()
    assert {c["name"] for c in doc["checks"]} >= {"no_duplicate_predictions", "real_lines_only"}


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"source": Path("x.csv"), "since": dt.date(2024, 11, 1)}, "cannot be combined"),
        ({"golden": True, "source": Path("x.csv")}, "choose one of --golden"),
        ({"model": "m:f", "predictions": Path("p.csv")}, "choose one of --model and --predictions"),
        ({"champion": "v8", "challenger": "v8"}, "must be different"),
        # one flag equal to the other's default: the comparison gates were silently dropped
        ({"golden": True, "challenger": "v8"}, "both are 'v8'"),
        (
            {
                "golden": True,
                "model": "nbaops.regression.examples:blend",
                "champion": "candidate",
            },
            "both are 'candidate'",
        ),
        ({"model": "m:f", "challenger": "v9"}, "make the candidate the challenger"),
        # an output that cannot be written, found before any work (root passes os.access)
        ({"golden": True, "junit": Path("/proc/x.xml")}, "--junit: cannot write in /proc"),
        (
            {"golden": True, "html": Path("/tmp/r.x"), "junit": Path("/tmp/r.x")},
            "--html and --junit name the same file",
        ),
        ({"since": dt.date(2024, 12, 2), "until": dt.date(2024, 12, 1)}, "is after"),
        # without --until the message named an "--until" nobody gave
        ({"since": dt.date(2999, 1, 1)}, "is after yesterday ("),
        ({"source": Path("/nonexistent/graded.csv")}, "file not found"),
        ({"source": Path("/dev/null")}, "--from: /dev/null is not a regular file"),
        ({"source": Path("/")}, "--from: / is a folder; give a file"),
        ({"golden": True, "predictions": Path("/")}, "--predictions: / is a folder"),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
    request_kwargs: dict[str, Any],
    message: str,
) -> None:
    from nbaops.cli.runner import run
    from nbaops.regression.run import RegressionRequest, run_regression

    request = RegressionRequest(**request_kwargs)
    if "until" in request_kwargs:
        # A reversed window fails before any warehouse access.
        from nbaops.regression.run import _window

        with pytest.raises(UsageError, match=message):
            _window(request, SETTINGS)
        return
    code = run(lambda ctx: run_regression(ctx, request))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_an_output_path_that_is_not_a_regular_file_is_refused_and_left_alone(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--junit /dev/full` as root replaced the device with the JUnit file (the atomic
    write renames over the path); a pipe stands in for the device here."""
    import os
    import stat

    from nbaops.cli.runner import run
    from nbaops.regression.run import RegressionRequest, run_regression

    pipe = isolated / "pipe"
    os.mkfifo(pipe)
    request = RegressionRequest(golden=True, junit=pipe)
    assert run(lambda ctx: run_regression(ctx, request)) == 2
    assert f"--junit: {pipe} is not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_a_later_batch_repredicting_is_not_a_duplicate_and_the_latest_is_graded() -> None:
    rows = _pair(300, 0.55, 0.55)
    for r in rows:
        r["batch_id"] = "batch-0230"
    early = START - dt.timedelta(hours=20)
    # v8 re-predicts player0 at 11:30 with the other side: the later one is graded.
    first = dict(rows[0], batch_id="batch-0230", created_at=early)
    rows[0] = first
    later = dict(
        first,
        prediction_id="v8-0-late",
        batch_id="batch-1130",
        recommendation="UNDER",
        created_at=START - dt.timedelta(hours=2),
    )
    rows.append(later)
    report = _run(rows)
    dups = _check(report, "no_duplicate_predictions")
    assert dups.verdict is Verdict.PASS
    assert "1 re-predictions in later batches" in dups.message
    g = report.metrics.overall("v8")
    assert g is not None and g.predictions == 300
    side = {x.bucket: x.bets for x in report.metrics.segment("side", "v8")}
    assert side.get("UNDER") == 1


def test_a_missing_version_gets_one_inconclusive_check_not_three() -> None:
    report = _run(_pair(300, 0.55, 0.55), replace(SETTINGS, challenger="v10"))
    assert [c.name for c in report.checks if c.name.endswith(":v10")] == ["hit_rate_floor:v10"]


def test_a_challenger_equal_to_the_champion_has_no_relative_gates() -> None:
    report = _run(_pair(300, 0.55, 0.55), replace(SETTINGS, challenger="v8"))
    assert not [c for c in report.checks if c.name.startswith(("challenger_vs", "mae_vs"))]


def test_without_a_champion_there_are_no_relative_gates() -> None:
    report = _run(_pair(300, 0.55, 0.55), replace(SETTINGS, champion=""))
    assert not [c for c in report.checks if c.name.startswith(("challenger_vs", "mae_vs"))]


def test_exactly_min_bets_is_enough_to_judge() -> None:
    # SETTINGS.min_bets = 100: 100 decided bets are judged, not INCONCLUSIVE
    rows = [_row(i, "v8", hit=h, line=14.5 + i % 11) for i, h in enumerate(_pattern(100, 0.55))]
    for i in range(100):  # v9 "predicts" the actual points
        actual = 25.0 if i % 2 else 15.0
        side = "OVER" if actual > 20.5 else "UNDER"
        rows.append(_row(i, "v9", hit=True, side=side, predicted=actual, actual=actual))
    report = _run(rows)
    assert _check(report, "hit_rate_floor:v8").verdict is not Verdict.INCONCLUSIVE
    assert _check(report, "too_good_to_be_true:v8").verdict is Verdict.PASS
    assert _check(report, "leakage:v8").verdict is Verdict.PASS
    assert _check(report, "leakage:v9").verdict is Verdict.FAIL


def test_leakage_with_one_correlation_unmeasured_is_not_ruled_out() -> None:
    # the line is constant (no correlation), the predictions vary (a correlation)
    rows = [
        _row(i, "v8", hit=h, predicted=22.5 + (i % 5) * 0.3)
        for i, h in enumerate(_pattern(500, 0.53))
    ]
    leak = _check(_run(rows), "leakage:v8")
    assert leak.verdict is Verdict.INCONCLUSIVE, leak.message


def test_a_hit_rate_exactly_at_the_ceiling_is_plausible() -> None:
    report = _run(_pair(500, 0.53, 0.58))  # v9: 290 of 500 = 58% = hit_rate_ceiling
    assert _check(report, "too_good_to_be_true:v9").verdict is Verdict.PASS


def test_exactly_the_timed_share_for_warn_warns_and_just_below_is_inconclusive() -> None:
    def gate(unknown: int) -> Verdict:
        rows = _pair(300, 0.55, 0.55)  # 600 graded rows
        for r in rows[:unknown]:
            r["created_at"] = None
        return _check(_run(rows), "created_before_tipoff").verdict

    assert gate(30) is Verdict.WARN  # 570 of 600 = 95% have a creation time
    assert gate(31) is Verdict.INCONCLUSIVE  # 94.8%


def test_missing_outcomes_exactly_at_the_limit_warn() -> None:
    rows = _pair(300, 0.55, 0.55)  # 600 rows, max_missing_outcomes = 1%
    for r in rows[:6]:
        r["actual_points"] = None
    gate = _check(_run(rows), "outcomes_present")
    assert gate.verdict is Verdict.WARN and gate.value == 6


def test_exactly_min_paired_bets_are_compared_and_one_fewer_is_not() -> None:
    # SETTINGS.min_paired_bets = 100
    judged = _run(_pair(100, 0.55, 0.55))
    assert _check(judged, "challenger_vs_champion:v9>v8").verdict is Verdict.PASS
    assert _check(judged, "mae_vs_champion:v9>v8").verdict is Verdict.PASS
    short = _run(_pair(99, 0.55, 0.55))
    assert _check(short, "challenger_vs_champion:v9>v8").verdict is Verdict.INCONCLUSIVE
    assert _check(short, "mae_vs_champion:v9>v8").verdict is Verdict.INCONCLUSIVE


def test_mae_exactly_at_the_margin_passes() -> None:
    rows = _pair(400, 0.55, 0.55)
    for r in rows:  # v8 misses by 2 points everywhere, v9 by 3
        r["predicted_points"] = r["actual_points"] + (3.0 if r["system_id"] == "v9" else 2.0)
    mae = _check(_run(rows, replace(SETTINGS, mae_margin=1.0)), "mae_vs_champion:v9>v8")
    assert mae.verdict is Verdict.PASS


def test_mae_worse_than_the_margin_only_by_its_point_estimate_warns() -> None:
    rows = _pair(400, 0.55, 0.55)
    for r in rows:  # v8 misses by 2; v9 by 2 or 4 (difference 0 or 2: mean 1, interval ~0.9-1.1)
        i = int(r["prediction_id"].split("-")[1])
        miss = 2.0 if r["system_id"] == "v8" else (2.0 if i % 2 else 4.0)
        r["predicted_points"] = r["actual_points"] + miss
    mae = _check(_run(rows, replace(SETTINGS, mae_margin=0.95)), "mae_vs_champion:v9>v8")
    assert mae.verdict is Verdict.WARN, mae.message


def test_an_exact_share_at_the_limit_is_not_a_leak() -> None:
    rows = [_row(i, "v8", hit=h, line=14.5 + i % 11) for i, h in enumerate(_pattern(100, 0.55))]
    for r in rows[:15]:  # 15 of 100 = max_exact_share (15%)
        r["predicted_points"] = r["actual_points"]
    leak = _check(_run(rows, replace(SETTINGS, challenger="")), "leakage:v8")
    assert leak.verdict is Verdict.PASS, leak.message
