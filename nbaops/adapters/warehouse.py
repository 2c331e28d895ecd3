"""The warehouse: BigQuery Standard SQL with named parameters, on BigQuery or DuckDB.

One interface (:class:`Warehouse`, its :class:`QueryResult` and row checks in
:mod:`nbaops.adapters.warehouse_base`), two engines, picked per profile by
:func:`open_warehouse`: :class:`BigQueryWarehouse` (prod profiles,
:mod:`nbaops.adapters.warehouse_bigquery`) and :class:`DuckDBWarehouse` (the local profile:
one DuckDB file, the same SQL transpiled by SQLGlot, :mod:`nbaops.adapters.warehouse_duckdb`).

SQL convention: tables written as logical ``dataset.table`` (the adapter maps datasets
per profile and qualifies the project), values only as ``@name`` parameters (python
``date`` → DATE, ``datetime`` → TIMESTAMP, ``int`` → INT64, ``float`` → FLOAT64,
``str`` → STRING, ``bool`` → BOOL, ``list`` → ARRAY). Rows come back as dicts of
python values; TIMESTAMP values are tz-aware UTC datetimes, JSON values are parsed.
Every failure or timeout raises :class:`~nbaops.errors.WarehouseError` with the
engine's error text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nbaops.adapters.warehouse_base import Warehouse
from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.adapters.warehouse_duckdb import WAREHOUSE_FILE, DuckDBWarehouse
from nbaops.environment import read

if TYPE_CHECKING:
    from nbaops.config import ProfileConfig

__all__ = ["WAREHOUSE_FILE", "BigQueryWarehouse", "DuckDBWarehouse", "Warehouse", "open_warehouse"]

ENDPOINT_ENV = "NBAOPS_BQ_ENDPOINT"


def open_warehouse(profile: ProfileConfig, home: Path, root: Path) -> Warehouse:
    """The profile's warehouse: DuckDB under the state folder ``home`` (local) or BigQuery.

    A gcp-kind profile honours ``NBAOPS_BQ_ENDPOINT`` (a BigQuery emulator, anonymous
    credentials), which the emulator tests use. ``root``: the project whose ``schemas/``
    describe the tables.
    """
    from nbaops.adapters.sql_cache import CACHE_DIR_NAME

    cache = home / CACHE_DIR_NAME
    if profile.is_local:
        return DuckDBWarehouse(
            home / WAREHOUSE_FILE, datasets=profile.datasets, root=root, sql_cache_dir=cache
        )
    return BigQueryWarehouse(
        profile.project,
        profile.bigquery_location,
        datasets=profile.datasets,
        endpoint=read(ENDPOINT_ENV),
        root=root,
        sql_cache_dir=cache,
    )
