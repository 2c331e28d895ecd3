"""The regression suite's warehouse source on the local DuckDB warehouse (BigQuery SQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.regression import metrics, sources

ROOT = Path(__file__).resolve().parents[2]
TIP = dt.datetime(2024, 11, 2, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def wh(tmp_path: Path) -> DuckDBWarehouse:
    w = DuckDBWarehouse(tmp_path / "warehouse.duckdb", root=ROOT)
    w.create_tables()
    day = dt.date(2024, 11, 1)
    old = dt.date(2024, 9, 1)  # outside the window: must not be read
    w.insert_rows(
        "nba_raw.games",
        [
            {
                "game_id": "G1",
                "game_date": day,
                "season": "2024-25",
                "home_team": "BOS",
                "away_team": "NYK",
                "start_time": TIP,
                "status": "final",
            },
        ],
    )
    preds, graded = [], []
    for i, (system, pred, rec, actual) in enumerate(
        [("v8", 24.0, "OVER", 25), ("v9", 21.0, "UNDER", 25), ("v8", 20.0, "PASS", 18)]
    ):
        pid = f"p{i}"
        player = "lukadoncic" if i < 2 else "kyrieirving"
        preds.append(
            {
                "prediction_id": pid,
                "game_id": "G1",
                "game_date": day,
                "player_lookup": player,
                "system_id": system,
                "predicted_points": pred,
                "line_value": 22.5,
                "line_source": "REAL",
                "recommendation": rec,
                "confidence": 0.6,
                "batch_id": "b1",
                "created_at": TIP - dt.timedelta(hours=8),
            }
        )
        graded.append(
            {
                "prediction_id": pid,
                "game_id": "G1",
                "game_date": day,
                "player_lookup": player,
                "system_id": system,
                "predicted_points": pred,
                "line_value": 22.5,
                "recommendation": rec,
                "actual_points": actual,
                "is_correct": None,
                "absolute_error": abs(pred - actual),
                "signed_error": pred - actual,
                "graded_at": TIP + dt.timedelta(hours=6),
            }
        )
    graded.append(dict(graded[0], prediction_id="old", game_date=old, game_id="G0"))
    w.insert_rows("nba_predictions.player_prop_predictions", preds)
    w.insert_rows("nba_predictions.prediction_accuracy", graded)
    w.insert_rows(
        "nba_analytics.player_game_summary",
        [
            {
                "game_id": "G1",
                "game_date": day,
                "player_id": 1,
                "player_lookup": "lukadoncic",
                "player_name": "Luka Doncic",
                "team": "DAL",
                "opponent": "BOS",
                "is_home": False,
                "minutes": 36,
                "points": 25,
                "source": "test",
                "processed_at": TIP + dt.timedelta(hours=4),
            }
        ],
    )
    return w


def test_warehouse_window_loads_joined_graded_predictions(wh: DuckDBWarehouse) -> None:
    con = duckdb.connect()
    loaded = sources.load_warehouse(con, wh, dt.date(2024, 10, 20), dt.date(2024, 11, 10))
    assert loaded.rows == 3  # the September row is outside the partition window
    assert "BETWEEN @since AND @until" in loaded.query
    rows = con.execute(
        "SELECT prediction_id, line_source, created_at < game_start, is_home, minutes "
        "FROM graded ORDER BY prediction_id"
    ).fetchall()
    assert rows == [
        ("p0", "REAL", True, False, 36.0),
        ("p1", "REAL", True, False, 36.0),
        ("p2", "REAL", True, None, None),
    ]
    m = metrics.compute(con, pairs=[("v8", "v9")])
    v8 = m.overall("v8")
    assert v8 is not None and (v8.bets, v8.hits, v8.passes) == (1, 1, 1)
    assert m.comparisons[0].paired_bets == 1 and m.comparisons[0].champion_only == 1
