"""Regression inputs a careless export produces: each is bad input (exit 2, one line naming
column, value and row) or a counted, gated fact, never an internal error or a silent drop."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_regression_gates import SETTINGS, START, _check, _pair, _row, _run

from nbaops.cli.runner import run
from nbaops.errors import UsageError
from nbaops.regression import metrics, scan, sources
from nbaops.regression.run import RegressionRequest, run_regression
from nbaops.verdict import Verdict

COLUMNS = [
    "game_id",
    "game_date",
    "player_lookup",
    "system_id",
    "predicted_points",
    "line_value",
    "recommendation",
    "actual_points",
]


def _csv(path: Path, rows: list[dict[str, Any]], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    return tmp_path


def _exit(request: RegressionRequest, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(lambda ctx: run_regression(ctx, request))
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return code, err


def test_dnp_in_actual_points_is_bad_input_naming_column_value_and_row(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _pair(20, 0.5, 0.5)
    rows[3]["actual_points"] = "DNP"
    path = _csv(isolated / "dnp.csv", rows)
    code, err = _exit(RegressionRequest(source=path), capsys)
    assert code == 2
    assert "column actual_points: value 'DNP' in row 4 is not a number" in err


def test_a_bad_date_is_bad_input(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _pair(5, 0.5, 0.5)
    rows[0]["game_date"] = "yesterday-ish"
    code, err = _exit(RegressionRequest(source=_csv(isolated / "d.csv", rows)), capsys)
    assert code == 2 and "column game_date: value 'yesterday-ish' in row 1 is not a date" in err


@pytest.mark.parametrize(
    ("column", "sql", "says"),
    [
        (
            "game_date",
            "CAST(strftime(game_date, '%Y%m%d') AS BIGINT)",
            "is BIGINT, which is not a date",
        ),
        ("predicted_points", "{'p': predicted_points}", "which is not a number"),
        ("created_at", "CAST(epoch(created_at) AS BIGINT)", "is BIGINT, which is not a timestamp"),
        ("is_home", "game_date", "is DATE, which is not true/false"),
    ],
)
def test_a_column_the_reader_typed_otherwise_is_bad_input(
    isolated: Path, capsys: pytest.CaptureFixture[str], column: str, sql: str, says: str
) -> None:
    """A Parquet (or CSV) column DuckDB reads as another type (dates written 20261018,
    epoch seconds, a struct) was skipped as "already typed" and its cast failed in the
    middle of the metrics: an internal error, exit 3. It is bad input naming the column."""
    import duckdb

    good = _csv(isolated / "good.csv", _pair(5, 0.5, 0.5))
    path = isolated / "typed.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * REPLACE ({sql} AS {column}) FROM (
              SELECT *, TIMESTAMPTZ '2026-01-01 12:00:00+00' AS created_at, true AS is_home
              FROM read_csv($p, header = true))) TO '{path}' (FORMAT parquet)""",
        {"p": str(good)},
    )
    con.close()
    code, err = _exit(RegressionRequest(source=path), capsys)
    assert code == 2, err
    assert err.startswith(f"nbaops: error: --from {path.name}: column {column} ") and says in err


@pytest.mark.parametrize(
    ("flag", "where", "needle"),
    [
        ("junit", "a-file/report.xml", "--junit: cannot create "),
        ("html", "a-file/report.html", "--html: cannot create "),
        ("html", ".", "is a folder; give a file name"),
    ],
)
def test_an_output_path_that_cannot_be_written_fails_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str], flag: str, where: str, needle: str
) -> None:
    """A JUnit or HTML path under a file (or a folder given as the file) is bad input
    found before the evaluation: exit 2, and no report (the other output) left behind."""
    (isolated / "a-file").write_text("not a folder", encoding="utf-8")
    source = _csv(isolated / "ok.csv", _pair(20, 0.5, 0.5))
    html = isolated / "out" / "report.html"
    outputs = {"html": html, flag: isolated / where}
    code, err = _exit(RegressionRequest(source=source, **outputs), capsys)
    assert code == 2 and needle in err and err.startswith(f"nbaops: error: --{flag}: ")
    assert not html.exists() and not (isolated / "home" / "reports").exists()


def test_unknown_recommendation_is_bad_input(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _pair(20, 0.5, 0.5)
    rows[7]["recommendation"] = "HOLD"
    code, err = _exit(RegressionRequest(source=_csv(isolated / "rec.csv", rows)), capsys)
    assert code == 2
    assert "column recommendation: value 'HOLD' in row 8 is not OVER, UNDER or PASS" in err


def test_lowercase_and_padded_recommendations_are_understood() -> None:
    rows = _pair(120, 0.6, 0.6)
    for r in rows[::2]:
        r["recommendation"] = f" {r['recommendation'].lower()} "
    report = _run(rows)
    g = report.metrics.overall("v8")
    assert g is not None and g.bets == 120 and g.hits == 72


def test_a_non_utf8_file_keeps_the_decoders_reason(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = isolated / "latin1.csv"
    path.write_bytes(
        (",".join(COLUMNS) + "\n").encode() + b"g1,2024-11-01,caf\xe9,v8,20,19.5,OVER,22\n"
    )
    code, err = _exit(RegressionRequest(source=path), capsys)
    assert code == 2 and "not utf-8 encoded" in err


def test_missing_outcomes_are_counted_excluded_and_gated() -> None:
    rows = _pair(200, 0.6, 0.6)
    rows[0]["actual_points"] = None  # 1 of 400 rows: 0.25% -> WARN
    report = _run(rows)
    gate = _check(report, "outcomes_present")
    assert gate.verdict is Verdict.WARN and gate.value == 1
    assert "1 of 400 rows" in gate.message and "v8=1" in gate.message
    assert report.metrics.sanity["v8"].missing_outcomes == 1
    g = report.metrics.overall("v8")
    assert g is not None and g.predictions == 199  # not graded, not silently kept
    for r in rows[1:10]:
        r["actual_points"] = None  # 10 of 400: 2.5% > 1% -> FAIL
    assert _check(_run(rows), "outcomes_present").verdict is Verdict.FAIL
    assert _check(_run(_pair(200, 0.6, 0.6)), "outcomes_present").verdict is Verdict.PASS


def test_nan_and_infinite_numbers_are_gated_and_do_not_poison_the_metrics() -> None:
    # A model emitting NaN (FLOAT64 holds it) made MAE and bias "-" and the correlation
    # NaN, which the leakage gate read as a leak (FAIL "corr 1.00"); now the values are
    # read as missing and finite_values names the rows.
    clean = _run(_pair(200, 0.6, 0.6))
    rows = _pair(200, 0.6, 0.6)
    rows[0]["predicted_points"] = float("nan")
    rows[0]["line_value"] = None  # a missing number beside the NaN: the row still counts
    rows[1]["actual_points"] = float("inf")
    rows[250]["line_value"] = float("-inf")  # a v9 row
    report = _run(rows)
    gate = _check(report, "finite_values")
    assert (gate.verdict, gate.value) == (Verdict.FAIL, 3)
    assert gate.message.endswith("(read as missing): v8=2, v9=1")
    assert _check(clean, "finite_values").verdict is Verdict.PASS
    v8 = report.metrics.overall("v8")
    assert v8 is not None and v8.predictions == 198  # the two rows are not graded
    assert v8.mae is not None and v8.bias is not None  # finite: two rows fewer than clean
    assert v8.mae == pytest.approx(clean.metrics.overall("v8").mae, abs=0.1)  # type: ignore[union-attr]
    assert _check(report, "leakage:v8").verdict is _check(clean, "leakage:v8").verdict
    assert report.metrics.sanity["v9"].nonfinite == 1


def test_a_duplicated_row_is_counted_once_and_graded_once() -> None:
    rows = _pair(150, 0.6, 0.6)
    rows.append(dict(rows[0]))  # same key, same batch, same prediction id
    report = _run(rows)
    dup = _check(report, "no_duplicate_predictions")
    assert dup.verdict is Verdict.FAIL and dup.value == 1
    assert "v8=1" in dup.message
    g = report.metrics.overall("v8")
    assert g is not None and g.predictions == 150


def test_exact_duplicates_are_counted_once_whichever_row_the_windows_see_first() -> None:
    # Each duplicate pair repeats both its key and its prediction id: unordered windows
    # could pick different rows of a pair as "the first" and count the pair twice.
    rows = _pair(400, 0.6, 0.6)
    rows += [dict(r) for r in rows[:40]]
    for _ in range(3):
        dup = _check(_run(rows), "no_duplicate_predictions")
        assert dup.verdict is Verdict.FAIL and dup.value == 40, dup.message


def _from_file(folder: Path, rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """Evaluate ``rows`` written to a CSV with only ``columns`` (an export lacking some)."""
    from nbaops.regression.run import evaluate

    con = __import__("duckdb").connect()
    loaded = sources.load_file(con, _csv(folder / "graded.csv", rows, columns))
    return evaluate(con, SETTINGS, loaded)


ALL_BUT_BATCH = [*COLUMNS, "prediction_id", "line_source", "created_at", "game_start"]


def test_without_line_source_real_lines_only_is_inconclusive_not_fail(isolated: Path) -> None:
    # docs/regression.md: a missing optional column makes the check needing it INCONCLUSIVE.
    columns = [c for c in ALL_BUT_BATCH if c != "line_source"]
    report = _from_file(isolated, _pair(150, 0.6, 0.6), columns)
    gate = _check(report, "real_lines_only")
    assert gate.verdict is Verdict.INCONCLUSIVE and gate.value is None
    assert "no line_source column" in gate.message
    assert "line_source" in report.metrics.missing_columns
    with_source = _from_file(isolated, _pair(150, 0.6, 0.6), ALL_BUT_BATCH)
    assert _check(with_source, "real_lines_only").verdict is Verdict.PASS


def test_without_line_source_a_prediction_without_any_line_still_fails(isolated: Path) -> None:
    """A row with no line breaks REAL_LINES_ONLY whatever its source: proved without the
    column (FAIL, exit 1), not INCONCLUSIVE (exit 3)."""
    columns = [c for c in ALL_BUT_BATCH if c != "line_source"]
    rows = _pair(150, 0.6, 0.6)
    for row in rows[:20]:
        row["line_value"] = None
    gate = _check(_from_file(isolated, rows, columns), "real_lines_only")
    assert gate.verdict is Verdict.FAIL and gate.value == 20, gate.message
    assert "without a line" in gate.message and "no line_source column" in gate.message


def test_without_batch_id_a_repeated_key_is_inconclusive_but_a_repeated_id_still_fails(
    isolated: Path,
) -> None:
    rows = _pair(150, 0.6, 0.6)
    later = dict(rows[0], prediction_id="v8-0-again", created_at=START - dt.timedelta(hours=1))
    gate = _check(_from_file(isolated, [*rows, later], ALL_BUT_BATCH), "no_duplicate_predictions")
    assert gate.verdict is Verdict.INCONCLUSIVE
    assert "1 rows repeat a (version, game, player)" in gate.message
    assert "no batch_id column" in gate.message
    again = _from_file(isolated, [*rows, dict(rows[0])], ALL_BUT_BATCH)  # the same id too
    gate = _check(again, "no_duplicate_predictions")
    assert gate.verdict is Verdict.FAIL and gate.value == 1
    clean = _from_file(isolated, rows, ALL_BUT_BATCH)
    assert _check(clean, "no_duplicate_predictions").verdict is Verdict.PASS


def test_created_after_tipoff_falls_back_to_the_game_date_without_game_start(
    isolated: Path,
) -> None:
    con = __import__("duckdb").connect()
    rows = _pair(150, 0.6, 0.6)
    for r in rows:
        r.pop("game_start")
        day = r["game_date"]
        r["created_at"] = dt.datetime(day.year, day.month, day.day, 15, 0, tzinfo=dt.UTC)
    late = rows[5]
    day = late["game_date"]
    late["created_at"] = dt.datetime(day.year, day.month, day.day, 23, 30, tzinfo=dt.UTC)
    columns = [*COLUMNS, "prediction_id", "created_at", "line_source"]
    sources.load_file(con, _csv(isolated / "late.csv", rows, columns))
    from nbaops.regression.run import evaluate

    report = evaluate(con, SETTINGS, sources.Loaded("late", "late.csv", len(rows)))
    gate = _check(report, "created_before_tipoff")
    assert gate.verdict is Verdict.FAIL and gate.value == 1
    assert report.metrics.leak["v8"].tipoff_from_game_date == 150
    rows[5]["created_at"] = rows[4]["created_at"]
    sources.load_file(con, _csv(isolated / "ok.csv", rows, columns))
    report = evaluate(con, SETTINGS, sources.Loaded("ok", "ok.csv", len(rows)))
    gate = _check(report, "created_before_tipoff")
    assert gate.verdict is Verdict.PASS and "12:00 ET of the game day" in gate.message


def test_parquet_is_read_in_place_as_a_view(isolated: Path) -> None:
    import duckdb

    con = duckdb.connect()
    sources._rows_to_table(con, _pair(120, 0.6, 0.5), "src")
    path = isolated / "graded.parquet"
    con.execute(f"COPY src TO '{path}' (FORMAT PARQUET)")
    fresh = duckdb.connect()
    loaded = sources.load_file(fresh, path)
    kind = fresh.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'graded'"
    ).fetchone()
    assert kind == ("VIEW",) and loaded.rows == 240
    m = metrics.compute(fresh, pairs=[("v8", "v9")])
    assert m.overall("v8") is not None and m.comparisons[0].paired_bets == 120


def test_metrics_match_a_row_by_row_recount() -> None:
    """The rolled-up sums give the same numbers as counting the rows one by one."""
    rows = [_row(i, "v8", hit=i % 3 != 0, line=10.5 + i % 17) for i in range(300)]
    rows += [_row(i, "v9", hit=i % 2 == 0, side="UNDER") for i in range(300)]
    report = _run(rows)
    for system in ("v8", "v9"):
        mine = [r for r in rows if r["system_id"] == system]
        g = report.metrics.overall(system)
        assert g is not None
        hits = sum(
            (r["actual_points"] > r["line_value"]) == (r["recommendation"] == "OVER") for r in mine
        )
        mae = sum(abs(r["predicted_points"] - r["actual_points"]) for r in mine) / len(mine)
        assert (g.hits, g.decided) == (hits, len(mine))
        assert g.mae == pytest.approx(mae)
    line = report.metrics.segment("line", "v8")
    assert sum(g.predictions for g in line) == 300
    assert {g.bucket for g in line} <= set(metrics.segment_order(SETTINGS.buckets)["line"])


def test_an_unknown_recommendation_raises_in_compute_too() -> None:
    rows = _pair(5, 0.5, 0.5)
    rows[2]["recommendation"] = None
    with pytest.raises(UsageError, match="recommendation: empty in row 3 is not OVER"):
        _run(rows)


@pytest.mark.parametrize(
    ("column", "empty"),
    [
        ("system_id", None),
        ("system_id", ""),
        ("game_id", None),
        ("game_id", ""),
        ("player_lookup", ""),
        ("game_date", None),  # a date column holds no empty text
    ],
)
def test_a_row_without_its_version_game_player_or_date_is_bad_input(
    column: str, empty: str | None
) -> None:
    """An empty system_id was "internal error: '<' not supported between NoneType and str"
    (exit 3); empty game or player ids were graded as if they were keys."""
    rows = _pair(5, 0.5, 0.5)
    rows[3][column] = empty
    with pytest.raises(UsageError, match=f"column {column}: empty in row 4: every prediction"):
        _run(rows)


def test_every_segment_and_the_histogram_partition_each_versions_rows() -> None:
    """Pass 1 rolls the totals, each segment and the histogram up from two groupings: every
    segment's buckets and the histogram's bins add up to the version's totals, nothing
    counted twice or dropped (weeks included: they come from the second grouping)."""
    import duckdb

    con = duckdb.connect()
    metrics.synthetic_table(con, 20_000, systems=("v8", "v9"))  # 10 game days: 2 weeks
    con.execute("UPDATE graded SET actual_points = NULL WHERE hash(prediction_id) % 17 = 0")
    m = metrics.compute(con, pairs=[("v8", "v9")])
    for system in ("v8", "v9"):
        total = m.overall(system)
        assert total is not None and 0 < total.predictions < 10_000
        for name in scan.SEGMENT_COLUMNS:  # every segment the report has
            buckets = m.segment(name, system)
            assert len(buckets) > 1, name
            assert sum(g.predictions for g in buckets) == total.predictions, name
            assert sum(g.bets for g in buckets) == total.bets, name
            assert sum(g.hits for g in buckets) == total.hits, name
        assert sum(n for _, n in m.histogram[system]) == total.predictions
        assert m.sanity[system].rows == 10_000
        assert m.sanity[system].missing_outcomes == 10_000 - total.predictions


def test_runs_in_the_same_second_write_their_own_default_reports(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The name had second resolution: a second run (or any run on a pinned clock)
    # replaced the first one's report, whose printed path then showed the other run.
    monkeypatch.setenv("NBAOPS_NOW", "2026-12-01T12:00:00Z")
    source = _csv(isolated / "ok.csv", _pair(20, 0.5, 0.5))
    for _ in range(2):
        assert run(lambda ctx: run_regression(ctx, RegressionRequest(source=source))) in (0, 3)
    reports = isolated / "home" / "reports" / "regression"
    names = sorted(p.name for p in reports.iterdir())
    assert names == ["regression-20261201T120000Z-2.html", "regression-20261201T120000Z.html"]
    printed = [line for line in capsys.readouterr().out.splitlines() if "HTML report" in line]
    assert [line.rsplit("/", 1)[1] for line in printed] == sorted(names, reverse=True)
    # A run that fails leaves no empty report behind.
    code, _ = _exit(RegressionRequest(source=isolated / "missing.csv"), capsys)
    assert code == 2 and sorted(p.name for p in reports.iterdir()) == names


def test_a_re_prediction_after_tip_off_is_not_graded_but_is_flagged() -> None:
    # docs/regression.md: the metrics grade the latest prediction *before* tip-off; the
    # latest one was graded even when it came an hour after the game started.
    rows = _pair(150, 0.6, 0.6)
    for r in rows:
        r["batch_id"] = "b1"
    first = rows[0]  # v8 OVER, a hit, created 6 h before tip-off
    late = dict(first, prediction_id="v8-0-late", batch_id="b2", recommendation="UNDER",
                created_at=START + dt.timedelta(hours=1))  # fmt: skip
    report = _run([*rows, late])
    clean = _run(rows)
    v8, v8_clean = report.metrics.overall("v8"), clean.metrics.overall("v8")
    assert v8 is not None and v8_clean is not None
    assert (v8.hits, v8.bets) == (v8_clean.hits, v8_clean.bets)  # the pre-tip-off OVER
    gate = _check(report, "created_before_tipoff")
    assert gate.verdict is Verdict.FAIL and gate.value == 1  # counted from the raw rows
    assert "v8=1" in gate.message


def test_rows_without_an_outcome_add_no_histogram_bin() -> None:
    # greatest/least skip NULLs: an ungraded row landed in the last bin (+18) with count 0.
    rows = _pair(20, 0.5, 0.5)
    rows[0]["actual_points"] = None
    edges = {edge for edge, _n in _run(rows).metrics.histogram["v8"]}
    assert edges == {edge for edge, _n in _run(rows[1:]).metrics.histogram["v8"]}


def test_correlations_keep_their_precision_at_large_values() -> None:
    # Pearson from raw sums of squares lost the 4th decimal around 1e6 and returned None
    # from ~1e7, which switched the leakage correlation test off.
    import math
    import random

    rng = random.Random(7)
    rows = []
    for i in range(400):
        actual = 1e9 + rng.gauss(0, 7)
        rows.append(_row(i, "v8", hit=True, line=actual + rng.gauss(0, 5),
                         predicted=actual + rng.gauss(0, 6), actual=actual))  # fmt: skip
    leak = _run(rows).metrics.leak["v8"]
    xs = [r["predicted_points"] for r in rows]
    ys = [r["actual_points"] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    expected = cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))
    assert leak.corr_prediction == pytest.approx(expected, abs=1e-6)
    assert leak.corr_line is not None
