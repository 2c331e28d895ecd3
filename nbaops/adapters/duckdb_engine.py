"""DuckDB, imported without the ``duckdb`` package's Python layer: the one place that does.

``_duckdb`` is the C++ extension the ``duckdb`` package re-exports (its ``__init__`` says
so; typed by ``_duckdb-stubs``): connections, cursors, parameters and the exception
classes are the same objects, without the package's Python relation and expression
layers, which cost ~0.1 s of every local run's import (and of every ``inv regression``).
"""

from __future__ import annotations

import threading
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import _duckdb


def engine() -> types.ModuleType:
    """The ``_duckdb`` module (its ``connect``, ``Error`` and exception classes)."""
    import _duckdb

    return _duckdb


def connect(database: str = ":memory:") -> _duckdb.DuckDBPyConnection:
    """A connection whose time zone is UTC (BigQuery's), for every cursor of it too; an
    in-memory one is the one :func:`start_connect` opened ahead, when there is one.

    Raises:
        _duckdb.Error: the database cannot be opened (e.g. another process holds its lock).
    """
    if database == ":memory:" and _STARTER:
        _STARTER[0].join()  # opening ahead takes ~30 ms: at most what opening here would
        with _LOCK:
            if _READY:
                return _READY.pop()
    return _open(database)


def start_connect() -> None:
    """Open an in-memory connection in the background, for a run that will use DuckDB
    soon: the next :func:`connect` takes it. DuckDB starts a database (~25-35 ms) without
    holding Python's lock, so the start overlaps what the run does meanwhile (importing
    its modules, reading its config) instead of being waited for. Once per process; the
    thread is not a daemon, so an exit waits for it instead of leaving DuckDB mid-start.
    An error is left for the next :func:`connect` to raise."""
    with _LOCK:
        if _STARTER:
            return
        _STARTER.append(threading.Thread(target=_open_ahead, name="nbaops-duckdb-start"))
    _STARTER[0].start()


def _open_ahead() -> None:
    try:
        con = _open(":memory:")
    except Exception:  # connect() opens its own and raises the error
        return
    with _LOCK:
        _READY.append(con)


def _open(database: str) -> _duckdb.DuckDBPyConnection:
    import _duckdb

    con = _duckdb.connect(database)
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    return con


_LOCK = threading.Lock()
_STARTER: list[threading.Thread] = []  # start_connect's thread (once per process)
_READY: list[_duckdb.DuckDBPyConnection] = []  # the one it opened, until connect() takes it
