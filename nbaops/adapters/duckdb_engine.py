"""DuckDB, imported without the ``duckdb`` package's Python layer: the one place that does.

``_duckdb`` is the C++ extension the ``duckdb`` package re-exports (its ``__init__`` says
so; typed by ``_duckdb-stubs``): connections, cursors, parameters and the exception
classes are the same objects, without the package's Python relation and expression
layers, which cost ~0.1 s of every local run's import (and of every ``inv regression``).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import _duckdb


def engine() -> types.ModuleType:
    """The ``_duckdb`` module (its ``connect``, ``Error`` and exception classes)."""
    import _duckdb

    return _duckdb


def connect(database: str = ":memory:") -> _duckdb.DuckDBPyConnection:
    """A connection whose time zone is UTC (BigQuery's), for every cursor of it too.

    Raises:
        _duckdb.Error: the database cannot be opened (e.g. another process holds its lock).
    """
    import _duckdb

    con = _duckdb.connect(database)
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    return con
