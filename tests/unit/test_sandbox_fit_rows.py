"""migrate.fit_rows: rows keep only the catalog's columns, spelled as the catalog spells them."""

from __future__ import annotations

from pathlib import Path

from nbaops.sandbox.migrate import fit_rows
from nbaops.table_catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
GAMES = "nba_raw.games"


def test_rows_that_already_fit_pass_through_unchanged() -> None:
    catalog = load_catalog(ROOT)
    row = {"game_id": "0022500001", "home_team": "BOS"}
    fitted = fit_rows(catalog, {GAMES: [row]})
    assert fitted == {GAMES: [row]}
    assert fitted[GAMES][0] is row  # the common case copies no row


def test_unknown_columns_are_dropped_and_case_follows_the_catalog() -> None:
    catalog = load_catalog(ROOT)
    rows = [
        {"game_id": "0022500001", "dropped_column": 1},
        {"GAME_ID": "0022500002", "Home_Team": "NYK"},
    ]
    fitted = fit_rows(catalog, {GAMES: rows, "nba_raw.not_in_catalog": [{"x": 1}]})
    assert fitted == {
        GAMES: [{"game_id": "0022500001"}, {"game_id": "0022500002", "home_team": "NYK"}]
    }
