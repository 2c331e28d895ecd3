"""The warehouse: BigQuery Standard SQL with named parameters, on BigQuery or DuckDB.

One interface (:class:`Warehouse`), two engines:

- :class:`BigQueryWarehouse` (prod profiles): ``google.cloud.bigquery`` (imported
  lazily), Application Default Credentials, or an emulator endpoint with anonymous
  credentials (``NBAOPS_BQ_ENDPOINT`` or ``endpoint=``).
- :class:`DuckDBWarehouse` (the local profile): one DuckDB file under the state folder
  (``warehouse.duckdb``), tables created from ``schemas/`` (see
  :mod:`nbaops.table_catalog`), the same SQL transpiled by SQLGlot with BigQuery's
  semantics restored where they differ (see :mod:`nbaops.adapters.sql_dialect`).

SQL convention: tables written as logical ``dataset.table`` (the adapter maps datasets
per profile and qualifies the project), values only as ``@name`` parameters (python
``date`` → DATE, ``datetime`` → TIMESTAMP, ``int`` → INT64, ``float`` → FLOAT64,
``str`` → STRING, ``bool`` → BOOL, ``list`` → ARRAY). Rows come back as dicts of
python values; TIMESTAMP values are tz-aware UTC datetimes, JSON values are parsed.
Every failure or timeout raises :class:`~nbaops.errors.WarehouseError` with the
engine's error text.

Modules: the contract (:class:`QueryResult`, :class:`Warehouse`, row checks) lives in
:mod:`nbaops.adapters.warehouse_base`, the engines in :mod:`nbaops.adapters.warehouse_duckdb`
and :mod:`nbaops.adapters.warehouse_bigquery`; this module re-exports them and picks one
per profile (:func:`open_warehouse`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nbaops.adapters.warehouse_base import Warehouse
from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse
from nbaops.adapters.warehouse_duckdb import WAREHOUSE_FILE, DuckDBWarehouse

if TYPE_CHECKING:
    from nbaops.config import Config

__all__ = ["WAREHOUSE_FILE", "BigQueryWarehouse", "DuckDBWarehouse", "Warehouse", "open_warehouse"]

ENDPOINT_ENV = "NBAOPS_BQ_ENDPOINT"


class WarehouseSite(Protocol):
    """What :func:`open_warehouse` reads of the run context (typed structurally, so the
    adapters layer never imports :mod:`nbaops.context`)."""

    config: Config

    @property
    def is_local(self) -> bool: ...

    @property
    def home(self) -> Path: ...

    @property
    def root(self) -> Path: ...


def open_warehouse(ctx: WarehouseSite) -> Warehouse:
    """The profile's warehouse: DuckDB under the state folder (local) or BigQuery.

    A gcp-kind profile honours ``NBAOPS_BQ_ENDPOINT`` (a BigQuery emulator, anonymous
    credentials), which the emulator tests use.
    """
    profile = ctx.config.profile
    from nbaops.adapters.sql_cache import CACHE_DIR_NAME

    cache = ctx.home / CACHE_DIR_NAME
    if ctx.is_local:
        return DuckDBWarehouse(
            ctx.home / WAREHOUSE_FILE, datasets=profile.datasets, root=ctx.root, sql_cache_dir=cache
        )
    return BigQueryWarehouse(
        profile.project,
        profile.bigquery_location,
        datasets=profile.datasets,
        endpoint=os.environ.get(ENDPOINT_ENV) or None,
        root=ctx.root,
        sql_cache_dir=cache,
    )
