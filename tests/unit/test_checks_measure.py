"""Measurement: what a check result says about the queries behind it (bytes, text,
duration), whatever the check."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nbaops.adapters.warehouse import QueryResult
from nbaops.checks.measure import Measurement
from nbaops.checks.spec import CheckParams, Query
from nbaops.config import load_config
from nbaops.context import Context
from nbaops.verdict import Verdict


class _BillingWarehouse:
    """BigQuery's answer shape: each job reports the bytes it processed, or None when the
    job statistics lack them (the local warehouse always reports None)."""

    kind = "bigquery"

    def __init__(self, *bytes_per_query: int | None) -> None:
        self._bytes = iter(bytes_per_query)

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> QueryResult:
        return QueryResult(
            rows=[{"n": 1}], sql=sql, bytes_processed=next(self._bytes), duration_s=0
        )


def _measurement(*bytes_per_query: int | None) -> Measurement:
    ctx = Context(config=load_config())
    ctx.__dict__["warehouse"] = _BillingWarehouse(*bytes_per_query)  # instead of the sandbox's
    params = CheckParams("lines_coverage", timeout_s=30)
    return Measurement(ctx, params, "lines_coverage", "phase4-processors")


def _query(sql: str) -> Query:
    return Query("q", sql, {})


def test_a_result_sums_the_bytes_of_every_query_and_joins_their_text() -> None:
    m = _measurement(100, 250)
    m.query(_query(" SELECT 1 "))
    m.query(_query("SELECT 2"))
    result = m.result(Verdict.PASS, 1, "ok")
    assert result.bytes_processed == 350
    assert result.query == "SELECT 1\n;\nSELECT 2"


def test_bytes_are_unknown_when_one_query_did_not_report_them() -> None:
    m = _measurement(100, None)
    m.query(_query("SELECT 1"))
    m.query(_query("SELECT 2"))
    assert m.result(Verdict.PASS, 1, "ok").bytes_processed is None


def test_bytes_are_unknown_when_nothing_was_queried() -> None:
    assert _measurement().result(Verdict.PASS, 1, "ok").bytes_processed is None


def test_a_result_keeps_its_duration_to_the_sub_second() -> None:
    m = _measurement()
    time.sleep(0.02)
    duration = m.result(Verdict.PASS, 1, "ok").duration_s
    assert 0.02 <= duration < 1.0 and duration != round(duration)
