"""BigQueryWarehouse through the real google-cloud-bigquery client against bqemulator,
compared with the DuckDB warehouse on the same data: same SQL text, same answers."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nbaops.adapters.warehouse import Warehouse
from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.errors import WarehouseError
from nbaops.sandbox import generate
from nbaops.sandbox.league import TEAMS, synthetic_league
from nbaops.table_catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 1, 15)
KEEP_FROM = TODAY - dt.timedelta(days=3)


def _recent(ref: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spec = load_catalog(ROOT).get(ref)
    column = spec.partition
    if column is None:
        return rows
    out = []
    for row in rows:
        value = row[column]
        day = value.date() if isinstance(value, dt.datetime) else value
        if day >= KEEP_FROM:
            out.append(row)
    return out


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, Any]]]:
    league = synthetic_league(5, NOW)
    built = generate.build_tables(
        league, NOW, 5, project="nbaops-bq", region="us-west2", revisions={}
    )
    return {ref: _recent(ref, rows) for ref, rows in built.tables.items()}


@pytest.fixture(scope="module")
def loaded(
    bq: BigQueryWarehouse,
    data: dict[str, list[dict[str, Any]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BigQueryWarehouse, DuckDBWarehouse]:
    created = bq.create_tables(load_catalog(ROOT))
    assert len(created) == len(load_catalog(ROOT))
    duck = DuckDBWarehouse(tmp_path_factory.mktemp("duck") / "warehouse.duckdb", root=ROOT)
    duck.create_tables()
    for ref, rows in data.items():
        bq.insert_rows(ref, rows)
        duck.insert_rows(ref, rows)
    return bq, duck


def test_tables_are_created_from_the_schema_files(
    loaded: tuple[BigQueryWarehouse, DuckDBWarehouse],
) -> None:
    bq, duck = loaded
    for spec in load_catalog(ROOT):
        remote = bq.table_schema(spec.ref)
        assert [(f["name"], f["type"], f["mode"]) for f in remote] == [
            (f.name, f.type, f.mode) for f in spec.fields
        ], spec.ref
        assert duck.table_schema(spec.ref) == [
            {k: v for k, v in f.items() if k in ("name", "type", "mode", "description")}
            for f in spec.schema()
        ]


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, Decimal):
        return round(float(value), 6)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for left, right in zip(a, b, strict=True):
        assert set(left) == set(right)
        for key in left:
            lv, rv = _normal(left[key]), _normal(right[key])
            if isinstance(lv, float) and isinstance(rv, float):
                assert math.isclose(lv, rv, rel_tol=1e-6, abs_tol=1e-6), key
            else:
                assert lv == rv, (key, lv, rv)


QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "lines_coverage_per_game": (
        """
        WITH expected AS (
          SELECT game_id, player_lookup FROM `nba_precompute.ml_feature_store`
          WHERE game_date = @d
        ), lined AS (
          SELECT DISTINCT player_lookup FROM `nba_precompute.points_lines`
          WHERE game_date = @d AND snapshot_time <= @now
        )
        SELECT e.game_id, COUNT(*) AS expected,
               COUNTIF(l.player_lookup IS NOT NULL) AS with_line,
               ROUND(SAFE_DIVIDE(COUNTIF(l.player_lookup IS NOT NULL), COUNT(*)), 4) AS coverage
        FROM expected AS e LEFT JOIN lined AS l USING (player_lookup)
        GROUP BY e.game_id ORDER BY e.game_id
        """,
        {"d": TODAY, "now": NOW},
    ),
    "latest_heartbeat_age": (
        """
        SELECT processor_name,
               TIMESTAMP_DIFF(@now, TIMESTAMP_TRUNC(heartbeat_at, MINUTE), MINUTE) AS age_minutes
        FROM `nba_analytics.processor_heartbeats`
        WHERE heartbeat_at >= TIMESTAMP_SUB(@now, INTERVAL 24 HOUR)
        QUALIFY ROW_NUMBER() OVER (PARTITION BY processor_name ORDER BY heartbeat_at DESC) = 1
        ORDER BY processor_name
        """,
        {"now": NOW},
    ),
    "hit_rate_by_model": (
        """
        SELECT system_id, COUNT(*) AS graded,
               COUNTIF(is_correct) AS correct,
               ROUND(SAFE_DIVIDE(COUNTIF(is_correct), COUNTIF(is_correct IS NOT NULL)), 4)
                 AS hit_rate,
               ROUND(AVG(absolute_error), 3) AS mae
        FROM `nba_predictions.prediction_accuracy`
        WHERE game_date BETWEEN DATE_SUB(@d, INTERVAL 3 DAY) AND @d
          AND system_id IN UNNEST(@models)
        GROUP BY system_id ORDER BY system_id
        """,
        {"d": TODAY, "models": ["v8", "v9"]},
    ),
    "batches_today": (
        """
        SELECT scheduled_slot, status, expected_players, predictions_written,
               -- truncated first: bqemulator counts unit boundaries where BigQuery (and
               -- the DuckDB warehouse) count whole units elapsed
               TIMESTAMP_DIFF(TIMESTAMP_TRUNC(completed_at, SECOND),
                              TIMESTAMP_TRUNC(started_at, SECOND), SECOND) AS seconds,
               EXTRACT(HOUR FROM started_at AT TIME ZONE 'America/New_York') AS et_hour
        FROM `nba_predictions.prediction_batches`
        WHERE game_date = @d
        ORDER BY started_at
        """,
        {"d": TODAY},
    ),
    "games_by_weekday": (
        """
        SELECT game_date, EXTRACT(DAYOFWEEK FROM game_date) AS dow,
               DATE_DIFF(@d, game_date, DAY) AS days_ago, COUNT(*) AS games,
               COUNTIF(status = 'final') AS finals
        FROM `nba_raw.games`
        WHERE game_date BETWEEN DATE_SUB(@d, INTERVAL 3 DAY) AND DATE_ADD(@d, INTERVAL 1 DAY)
        GROUP BY game_date ORDER BY game_date
        """,
        {"d": TODAY},
    ),
    "shot_zone_mismatches": (
        """
        SELECT COUNT(*) AS n_rows,
               COUNTIF(paint_attempts + mid_range_attempts + three_pt_attempts != fga) AS mismatched
        FROM `nba_analytics.player_game_summary`
        WHERE game_date = DATE_SUB(@d, INTERVAL 1 DAY)
        """,
        {"d": TODAY},
    ),
    "top_scorers_unnest": (
        """
        SELECT player_lookup, SUM(points) AS points
        FROM `nba_analytics.player_game_summary`
        WHERE game_date >= @from_date
          AND team IN UNNEST(@teams)
        GROUP BY player_lookup
        ORDER BY points DESC, player_lookup
        LIMIT 5
        """,
        {"from_date": KEEP_FROM, "teams": list(TEAMS[:10])},
    ),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_monitoring_sql_gives_the_same_answer_on_both_engines(
    loaded: tuple[BigQueryWarehouse, DuckDBWarehouse], name: str
) -> None:
    bq, duck = loaded
    sql, params = QUERIES[name]
    remote = bq.query(sql, params, timeout_s=60)
    local = duck.query(sql, params)
    assert remote.rows, f"{name}: no rows from the emulator"
    assert remote.sql == sql and local.sql == sql  # the caller's SQL is reported
    _same(remote.rows, local.rows)


def test_timestamps_come_back_as_utc_datetimes_on_both(
    loaded: tuple[BigQueryWarehouse, DuckDBWarehouse],
) -> None:
    for wh in loaded:
        row = wh.query(
            "SELECT MAX(start_time) AS t FROM `nba_raw.games` WHERE game_date = @d", {"d": TODAY}
        ).rows[0]
        assert isinstance(row["t"], dt.datetime) and row["t"].tzinfo == dt.UTC


def test_dry_run_estimates_without_running(
    loaded: tuple[BigQueryWarehouse, DuckDBWarehouse],
) -> None:
    bq, _ = loaded
    estimate = bq.estimate_bytes(
        "SELECT COUNT(*) AS n FROM `nba_raw.games` WHERE game_date = @d", {"d": TODAY}
    )
    assert isinstance(estimate, int) and estimate >= 0  # the emulator answers 0


def test_errors_become_warehouse_errors(loaded: tuple[BigQueryWarehouse, DuckDBWarehouse]) -> None:
    bq, _ = loaded
    with pytest.raises(WarehouseError, match="no_such_table|not found|Not found"):
        bq.query("SELECT * FROM `nba_raw.no_such_table` WHERE game_date = @d", {"d": TODAY})
    with pytest.raises(WarehouseError, match="required column 'run_id'"):
        bq.insert_rows(
            "nba_analytics.processor_heartbeats",
            [{"processor_name": "p", "service": "s", "status": "ok", "heartbeat_at": NOW}],
        )


def test_insert_rows_is_all_or_nothing(loaded: tuple[BigQueryWarehouse, DuckDBWarehouse]) -> None:
    count = "SELECT COUNT(*) AS n FROM `nba_ops.deploys` WHERE started_at >= @t"
    row = {
        "deploy_id": "d1",
        "started_at": NOW,
        "profile": "prod",
        "service": "prediction-worker",
        "action": "deploy",
        "actor": "test",
        "dry_run": False,
        "outcome": "success",
        "verdicts": {"recent_predictions": "PASS"},
    }
    for wh in loaded:
        before = wh.query(count, {"t": NOW - dt.timedelta(days=1)}).rows[0]["n"]
        with pytest.raises(WarehouseError):
            wh.insert_rows(
                "nba_ops.deploys", [row, {**row, "deploy_id": "d2", "canary_percent": "x"}]
            )
        assert wh.query(count, {"t": NOW - dt.timedelta(days=1)}).rows[0]["n"] == before
        wh.insert_rows("nba_ops.deploys", [row])
        got = wh.query(
            "SELECT deploy_id, verdicts FROM `nba_ops.deploys` "
            "WHERE started_at >= @t AND deploy_id = @id",
            {"t": NOW - dt.timedelta(days=1), "id": "d1"},
        ).rows
        assert got[0]["deploy_id"] == "d1"


def test_open_warehouse_honours_the_emulator_endpoint(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nbaops.context import Context, open_warehouse

    monkeypatch.setenv("NBAOPS_BQ_ENDPOINT", endpoint)
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path))
    ctx = Context.create("prod")
    wh: Warehouse = open_warehouse(ctx.config.profile, ctx.home, ctx.root)
    assert isinstance(wh, BigQueryWarehouse) and wh.endpoint == endpoint
    assert wh.query("SELECT 1 + @x AS y", {"x": 1}).rows == [{"y": 2}]
