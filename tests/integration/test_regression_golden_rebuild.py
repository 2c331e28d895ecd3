"""The committed golden set against the real NBA data it was built from (../shared/data/nba).

These need the shared data folder and skip without it; the regression suite itself
(tests/regression, `nox -s regression`) runs from the committed file only.
"""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from nbaops import nba_data
from nbaops.paths import project_root
from nbaops.regression import golden
from nbaops.verdict import Verdict

pytestmark = [pytest.mark.realdata]

ROOT = project_root()


@pytest.fixture(scope="module")
def rebuilt_and_match() -> Iterator[tuple[duckdb.DuckDBPyConnection, nba_data.MatchStats]]:
    """The golden table rebuilt from the real data (~3.5 s), and how its lines matched."""
    con = nba_data.connect()
    try:
        match = golden.build_games(con, root=ROOT)
    except nba_data.NbaDataUnavailable as exc:
        pytest.skip(f"real NBA data not available: {exc}")
    yield con, match
    con.close()


@pytest.fixture(scope="module")
def rebuilt(
    rebuilt_and_match: tuple[duckdb.DuckDBPyConnection, nba_data.MatchStats],
) -> duckdb.DuckDBPyConnection:
    return rebuilt_and_match[0]


def test_committed_golden_set_rebuilds_to_the_same_content_hash(
    rebuilt: duckdb.DuckDBPyConnection,
) -> None:
    committed = golden.read_manifest(ROOT)
    assert golden.content_hash(rebuilt) == committed["content_sha256"]
    # ... and the committed Parquet file holds exactly that content.
    con = nba_data.connect()
    golden.load_golden(con, ROOT)
    assert golden.content_hash(con) == committed["content_sha256"]


def test_manifest_names_the_source_files_with_their_hashes() -> None:
    try:
        data = nba_data.data_dir(ROOT)
    except nba_data.NbaDataUnavailable as exc:
        pytest.skip(f"real NBA data not available: {exc}")
    committed = golden.read_manifest(ROOT)
    for source in committed["sources"]:
        assert golden.file_sha256(data / source["path"]) == source["sha256"], source["path"]


def test_features_use_only_earlier_games(rebuilt: duckdb.DuckDBPyConnection) -> None:
    """Recompute last10_avg and days_rest in Python from the game logs: no leakage."""
    logs = rebuilt.execute(
        "SELECT player_lookup, game_date, points FROM game_logs ORDER BY game_date"
    ).fetchall()
    history: dict[str, list[tuple[object, int]]] = {}
    for lookup, day, points in logs:
        history.setdefault(lookup, []).append((day, points))
    sample = rebuilt.execute(
        "SELECT player_lookup, game_date, last10_avg, days_rest FROM golden_games "
        "WHERE hash(game_id, player_lookup) % 10 = 0"
    ).fetchall()
    assert len(sample) > 200
    for lookup, day, last10, rest in sample:
        before = [(d, p) for d, p in history[lookup] if d < day]
        assert last10 == pytest.approx(statistics.fmean(p for _, p in before[-10:]), abs=1e-3)
        assert rest == (day - before[-1][0]).days


def test_the_verify_mode_reads_the_committed_file_and_manifest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rebuilt_and_match: tuple[duckdb.DuckDBPyConnection, nba_data.MatchStats],
) -> None:
    """`inv regression.golden` compared a rebuild with the manifest's content hash only: a
    committed Parquet with edited points, or a manifest with wrong rows, sources or
    attribution, still said PASS.

    The verify mode runs once whole (``build(write=False)``, a rebuild); the other cases
    compare the committed files with the module's one rebuild, as it does."""
    monkeypatch.setenv("NBAOPS_DATA", str(nba_data.data_dir(ROOT)))
    shutil.copytree(ROOT / "golden", tmp_path / "golden")
    con, match = rebuilt_and_match
    fresh = golden.manifest(con, tmp_path, match, ewma_halflife=5.0)

    def problems() -> list[str]:
        return golden.committed_problems(con, tmp_path, golden.read_manifest(tmp_path), fresh)

    assert problems() == []

    manifest = tmp_path / "golden" / "manifest.json"
    body = json.loads(manifest.read_text(encoding="utf-8"))
    body["rows"] = 9999
    body["sources"][0]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(body), encoding="utf-8")
    result = golden.build(tmp_path, write=False)
    assert result.verdict is Verdict.FAIL
    assert any(p.startswith("manifest rows: committed 9999") for p in result.problems)
    assert any(p.startswith("manifest sources[0].sha256:") for p in result.problems)

    shutil.copy(ROOT / "golden" / "manifest.json", manifest)
    parquet = tmp_path / "golden" / "nba-points-v1.parquet"
    editor = duckdb.connect()
    editor.execute(
        "COPY (SELECT * REPLACE (actual_points + CASE WHEN row_number() OVER () = 1 "
        "THEN 10 ELSE 0 END AS actual_points) FROM read_parquet($p)) TO '"
        + str(tmp_path / "edited.parquet")
        + "' (FORMAT PARQUET)",
        {"p": str(parquet)},
    )
    editor.close()
    shutil.move(tmp_path / "edited.parquet", parquet)
    found = problems()
    assert "nba-points-v1.parquet: its rows are not the rebuilt rows (content sha256)" in found
    assert "nba-points-v1.parquet: its SHA-256 is not the manifest's file_sha256" in found

    # a truncated committed file is a problem the verify mode lists, not a DuckDB traceback
    parquet.write_bytes(b"PAR1 cut short")
    found = problems()
    assert any(p.startswith("nba-points-v1.parquet: unreadable (") for p in found), found
