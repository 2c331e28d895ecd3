"""Python values → typed BigQuery query parameters and JSON rows for ``insert_rows_json``.

The parameter convention of nbaops SQL (TEAM.md): ``date`` → DATE, ``datetime`` →
TIMESTAMP (naive means UTC), ``int`` → INT64, ``float`` → FLOAT64, ``Decimal`` →
NUMERIC (BIGNUMERIC when NUMERIC cannot hold it), ``str`` → STRING, ``bool`` → BOOL,
``bytes`` → BYTES, ``list``/``tuple`` → ARRAY of the element type. An explicit type
wins: :class:`TypedValue` (e.g. an empty ``ARRAY<INT64>``, or a NULL of a given type).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nbaops.clock import as_utc
from nbaops.errors import WarehouseError
from nbaops.report import nonfinite_name


@dataclass(frozen=True)
class TypedValue:
    """A parameter value with an explicit BigQuery type (``"INT64"``, ``"DATE"``, ...).

    For arrays give the *element* type and a list value: ``TypedValue([], "INT64",
    array=True)``.
    """

    value: Any
    bq_type: str
    array: bool = False


# Checked in order: bool before int (a bool is an int), datetime before date.
_BQ_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "BOOL"),
    (int, "INT64"),
    (float, "FLOAT64"),
    (Decimal, "NUMERIC"),
    (str, "STRING"),
    (bytes, "BYTES"),
    (dt.datetime, "TIMESTAMP"),
    (dt.date, "DATE"),
    (dt.time, "TIME"),
)


# NUMERIC holds 38 digits, 9 of them after the point, and less than 1e29 in size ("Decimal
# types", https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#decimal_types)
NUMERIC_MAX = Decimal("9.9999999999999999999999999999999999999E+28")


def _decimal_type(value: Decimal) -> str:
    """NUMERIC when it holds ``value``, else BIGNUMERIC: the rule of Google's DB-API
    (``google.cloud.bigquery.dbapi._helpers.bigquery_scalar_type``).

    Raises:
        WarehouseError: a NaN or an infinity, which neither type holds.
    """
    if not value.is_finite():
        raise WarehouseError(f"Decimal {value} has no NUMERIC or BIGNUMERIC value")
    digits = value.as_tuple()
    exponent = digits.exponent if isinstance(digits.exponent, int) else 0
    # copy_abs(), not abs(): abs() rounds to the context's 28 digits (1e29 - 1e-9 → 1e29)
    fits = len(digits.digits) <= 38 and exponent >= -9 and value.copy_abs() <= NUMERIC_MAX
    return "NUMERIC" if fits else "BIGNUMERIC"


def bq_type_of(value: Any) -> str:
    """The BigQuery scalar type for a python value."""
    if isinstance(value, Decimal):
        return _decimal_type(value)
    for python_type, bq_type in _BQ_TYPES:
        if isinstance(value, python_type):
            return bq_type
    raise WarehouseError(f"type {type(value).__name__} has no BigQuery query parameter type")


# INT64's range ("Integer types",
# https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#integer_types)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _check_value(bq_type: str, value: Any) -> None:
    """Refuse a value its BigQuery type cannot hold (BigQuery would refuse the job, after
    the request; the local engine would bind it as a wider type and answer)."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if bq_type == "INT64" and integer and not INT64_MIN <= value <= INT64_MAX:
        # str() of an int past 4,300 digits raises ValueError (sys.int_info)
        shown = str(value) if value.bit_length() <= 256 else f"a {value.bit_length()}-bit int"
        raise WarehouseError(f"{shown} is outside INT64's range ({INT64_MIN}..{INT64_MAX})")


def _scalar_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    return value


def _typed(name: str, value: Any) -> tuple[str, bool, Any]:
    """One query parameter's BigQuery type, whether it is an ARRAY of that type, and its value.

    Raises:
        WarehouseError: a value whose type has no BigQuery parameter type (a dict, a list
            of lists...), a list mixing element types, or a value its type cannot hold
            (an int outside INT64's range).
    """
    try:
        if isinstance(value, TypedValue):
            typed = (value.bq_type, value.array, value.value)
        elif isinstance(value, (list, tuple)):
            types = {bq_type_of(v) for v in value if v is not None}
            if types == {"NUMERIC", "BIGNUMERIC"}:  # one value too big for NUMERIC
                types = {"BIGNUMERIC"}
            if len(types) > 1:
                raise WarehouseError(f"array mixes types {sorted(types)}")
            typed = (types.pop() if types else "STRING", True, value)
        else:
            typed = (bq_type_of(value) if value is not None else "STRING", False, value)
        bq_type, array, raw = typed
        for item in (raw or []) if array and isinstance(raw, (list, tuple)) else [raw]:
            _check_value(bq_type, item)
        return typed
    except WarehouseError as exc:
        raise WarehouseError(f"query parameter @{name}: {exc}") from None


def check_query_parameters(params: Mapping[str, Any] | None) -> None:
    """Refuse, before any query runs, what :func:`to_query_parameters` refuses: the local
    warehouse binds any Python value DuckDB takes (a dict as a STRUCT, a list of lists, a
    list mixing types), which the BigQuery engine cannot send.

    Raises:
        WarehouseError: as :func:`to_query_parameters`.
    """
    for name, value in (params or {}).items():
        _typed(name, value)


def to_query_parameters(params: Mapping[str, Any] | None) -> list[Any]:
    """``{"d": date(...)}`` → ``[ScalarQueryParameter("d", "DATE", ...)]`` (google.cloud.bigquery).

    Raises:
        WarehouseError: a value whose type has no BigQuery parameter type, a list
            mixing element types, or a value its type cannot hold (an int outside INT64).
    """
    from google.cloud import bigquery

    out: list[Any] = []
    for name, value in (params or {}).items():
        bq_type, array, raw = _typed(name, value)
        if array:
            items = [_scalar_value(v) for v in raw or []]
            out.append(bigquery.ArrayQueryParameter(name, bq_type, items))
        else:
            out.append(bigquery.ScalarQueryParameter(name, bq_type, _scalar_value(raw)))
    return out


def _json_finite(value: Any) -> Any:
    """``value`` with each NaN or infinite float (in dicts and lists too) as the string
    Google's JSON mapping writes for it, :func:`nbaops.report.nonfinite_name`'s: JSON has
    no NaN or Infinity (RFC 8259 section 6), and a JSON column's text holding the bare
    token is refused ("NaN", "Infinity", "-Infinity": proto3 JSON mapping of float and
    double, https://protobuf.dev/programming-guides/json/)."""
    if isinstance(value, float):
        return nonfinite_name(value) or value
    if isinstance(value, dict):
        return {_json_finite(k): _json_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_finite(v) for v in value]
    return value


_INT64_TYPES = frozenset({"INT64", "INTEGER"})


def json_value(value: Any, bq_type: str | None = None) -> Any:
    """One python value → its ``insertAll`` JSON form (JSON columns are sent as a string)."""
    if value is None:
        return None
    if bq_type == "JSON":
        if isinstance(value, str):
            return value
        return json.dumps(_json_finite(value), default=str, allow_nan=False)
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat() if bq_type != "DATETIME" else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if bq_type in _INT64_TYPES and isinstance(value, int) and not isinstance(value, bool):
        # its digits, as the client's insert_rows sends an INT64 (_helpers._int_to_json):
        # a JSON number past 2**53 is not exact for a reader holding numbers as doubles
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN/Infinity (a bare token fails the whole insertAll body): a string,
        # as the client's own insert_rows sends it (_helpers._float_to_json: "nan", "inf")
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # a REPEATED column: each element of its type
        return [json_value(v, bq_type) for v in value]
    return value


def json_rows(
    rows: Sequence[Mapping[str, Any]], fields: Sequence[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows → JSON-serialisable dicts for ``insert_rows_json`` (typed by ``fields`` if given)."""
    # BigQuery column names are case-insensitive: a row may name one in any case
    types = {str(f["name"]).lower(): str(f["type"]).upper() for f in fields or []}
    return [{k: json_value(v, types.get(k.lower())) for k, v in row.items()} for row in rows]
