"""DuckDB's start, opened ahead: the next in-memory connect() gets it, configured as any."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nbaops.adapters import duckdb_engine


@pytest.fixture
def fresh_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """start_connect is once per process: each test gets a process of its own."""
    monkeypatch.setattr(duckdb_engine, "_STARTER", [])
    monkeypatch.setattr(duckdb_engine, "_READY", [])


@pytest.mark.usefixtures("fresh_start")
def test_the_connection_opened_ahead_is_the_next_in_memory_one_handed_out() -> None:
    duckdb_engine.start_connect()
    starter = duckdb_engine._STARTER[0]
    assert not starter.daemon  # an exit waits for it instead of leaving DuckDB mid-start
    starter.join()
    ahead = duckdb_engine._READY[0]
    con = duckdb_engine.connect()
    assert con is ahead and duckdb_engine._READY == []
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    again = duckdb_engine.connect()  # the next one is opened on the spot
    assert again is not con
    assert again.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)


@pytest.mark.usefixtures("fresh_start")
def test_starting_twice_opens_ahead_once() -> None:
    duckdb_engine.start_connect()
    duckdb_engine.start_connect()
    assert len(duckdb_engine._STARTER) == 1
    duckdb_engine._STARTER[0].join()
    assert len(duckdb_engine._READY) == 1


@pytest.mark.usefixtures("fresh_start")
def test_connect_waits_for_a_start_under_way() -> None:
    duckdb_engine.start_connect()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(duckdb_engine.connect()))
    reader.start()
    reader.join(30)
    assert got and not duckdb_engine._STARTER[0].is_alive()
    assert duckdb_engine._READY == []  # the one opened ahead was handed out, not a second


@pytest.mark.usefixtures("fresh_start")
def test_a_file_database_is_never_the_one_opened_ahead(tmp_path: Path) -> None:
    duckdb_engine.start_connect()
    con = duckdb_engine.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (x INT)")
    duckdb_engine._STARTER[0].join()
    assert len(duckdb_engine._READY) == 1  # still waiting for an in-memory connect()
    assert (tmp_path / "w.duckdb").exists()
