"""The on-disk transpile cache: warm runs skip SQLGlot, and a stale result is impossible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nbaops.adapters import sql_cache
from nbaops.adapters.sql_dialect import to_duckdb
from nbaops.adapters.sql_qualify import qualify_bigquery
from nbaops.errors import WarehouseError

SQL = "SELECT COUNT(*) AS n FROM `nba_raw.games` WHERE game_date >= @since"


def forget_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh process's view: nothing transpiled in memory yet."""
    monkeypatch.setattr(sql_cache, "_MEMORY", {})


def test_disk_hit_returns_the_same_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = to_duckdb(SQL, {"nba_raw": "raw_x"}, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    forget_memory(monkeypatch)
    again = to_duckdb(SQL, {"nba_raw": "raw_x"}, cache_dir=tmp_path)
    assert again == first and "raw_x" in again[0].sql and again[0].params == {"since"}


def test_key_covers_text_dataset_map_and_project(tmp_path: Path) -> None:
    a = to_duckdb(SQL, {"nba_raw": "raw_a"}, cache_dir=tmp_path)
    b = to_duckdb(SQL, {"nba_raw": "raw_b"}, cache_dir=tmp_path)
    assert "raw_a" in a[0].sql and "raw_b" in b[0].sql
    p1 = qualify_bigquery(SQL, "proj-one", cache_dir=tmp_path)
    p2 = qualify_bigquery(SQL, "proj-two", cache_dir=tmp_path)
    assert "proj-one.nba_raw.games" in p1 and "proj-two.nba_raw.games" in p2
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_unreadable_file_is_a_miss_and_errors_are_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_duckdb(SQL, cache_dir=tmp_path)
    (stored,) = tmp_path.glob("*.json")
    stored.write_text("{truncated")
    forget_memory(monkeypatch)
    assert to_duckdb(SQL, cache_dir=tmp_path)[0].params == {"since"}
    with pytest.raises(WarehouseError, match="does not parse"):
        to_duckdb("SELEC nonsense FROM", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_fingerprint_follows_the_rewrite_rules_source(monkeypatch: pytest.MonkeyPatch) -> None:
    before = sql_cache.cache_key("duckdb", SQL)
    monkeypatch.setattr(sql_cache, "_FINGERPRINT", "another-sqlglot-or-rules")
    assert sql_cache.cache_key("duckdb", SQL) != before


def test_a_warm_process_does_not_import_sqlglot(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from nbaops.adapters.sql_dialect import to_duckdb\n"
        f"out = to_duckdb({SQL!r}, cache_dir=Path({str(tmp_path)!r}))\n"
        "print(out[0].sql)\n"
        "print('sqlglot' in sys.modules)\n"
    )
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert cold.stdout.splitlines()[1] == "True"
    assert warm.stdout.splitlines() == [cold.stdout.splitlines()[0], "False"]
