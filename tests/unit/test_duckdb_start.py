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


@pytest.mark.usefixtures("fresh_start")
@pytest.mark.parametrize("ahead", [True, False])
def test_a_duckdb_ahead_task_starts_the_engine_before_its_context(
    ahead: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``inv regression`` reads through DuckDB on every profile: the engine starts first
    thing, so its start overlaps the context and the imports; other tasks start none."""
    from invoke import Context
    from invoke.exceptions import Exit

    from nbaops.cli.task import nbaops_task
    from nbaops.errors import UsageError
    from nbaops.sandbox import world

    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    started_at_context: list[bool] = []
    open_context = world.open_context

    def observed(profile: str | None) -> object:
        started_at_context.append(bool(duckdb_engine._STARTER))
        return open_context(profile)

    monkeypatch.setattr(world, "open_context", observed)

    def body(ctx: object) -> None:
        raise UsageError("stop here")

    task = nbaops_task("nbaops.regression.run.run_regression", duckdb_ahead=ahead)(body)
    with pytest.raises(Exit) as stopped:
        task(Context())
    assert stopped.value.code == 2
    assert started_at_context == [ahead]
    for starter in duckdb_engine._STARTER:
        starter.join()
