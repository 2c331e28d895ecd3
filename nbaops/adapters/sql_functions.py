"""BigQuery functions and casts whose DuckDB counterpart answers differently, written in
DuckDB SQL for :mod:`nbaops.adapters.sql_dialect` (whose docstring lists each difference),
and :func:`from_template`, the way every rewrite of that module writes its DuckDB SQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

_LAMBDA_PREFIX = "_nbaops"  # + a template's operand name: the lambda variable bound to it


def from_template(template: str, **operands: Any) -> Any:
    """``template`` (DuckDB SQL) with each column named like an operand replaced by a copy
    of it. An operand the template uses more than once is written once and bound to its
    name by a one-element ``LIST_TRANSFORM`` lambda, unless it is a name, a literal or a
    parameter: a copy at each use ran it again at each use (``RAND()`` checked and used two
    values) and a rewrite nested in another's operand doubled the text at each level."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(template, read="duckdb")
    uses = Counter(c.name for c in tree.find_all(exp.Column) if c.name in operands)
    simple = (exp.Column, exp.Literal, exp.Parameter, exp.Null, exp.Boolean)
    bound = [
        name for name, count in uses.items() if count > 1 and not isinstance(operands[name], simple)
    ]
    for column in list(tree.find_all(exp.Column)):
        if column.name in bound:
            column.replace(exp.column(_LAMBDA_PREFIX + column.name))
        elif column.name in operands:
            column.replace(operands[column.name].copy())
    for name in bound:
        # LIST_TRANSFORM([operand], LAMBDA _nbaops_name: tree)[1]: DuckDB has no LET
        tree = exp.Bracket(
            this=exp.Anonymous(
                this="LIST_TRANSFORM",
                expressions=[
                    exp.Array(expressions=[operands[name].copy()]),
                    exp.Lambda(this=tree, expressions=[exp.to_identifier(_LAMBDA_PREFIX + name)]),
                ],
            ),
            expressions=[exp.Literal.number(1)],
            offset=1,  # already DuckDB's position: SQLGlot must not shift it
        )
    return tree


# A FLOAT64 as text in BigQuery: "%.15g", or "%.17g" when 15 digits do not read back as
# the same number, "nan" unsigned, and 0 unsigned (ZetaSQL's RoundTripDoubleToString in
# google/zetasql zetasql/base/string_numbers.cc; "A returned NaN or 0 will not be signed",
# cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast), of the
# DOUBLE ``_double`` evaluated once (bound to ``_f``)
_FLOAT_TEXT = (
    "LIST_TRANSFORM([_double], LAMBDA _f: CASE WHEN ISNAN(_f) THEN 'nan' WHEN _f = 0 THEN '0' "
    "WHEN CAST(PRINTF('%.15g', _f) AS DOUBLE) = _f THEN PRINTF('%.15g', _f) "
    "ELSE PRINTF('%.17g', _f) END)[1]"
)


# A NUMERIC (or BIGNUMERIC) as text in BigQuery: its digits without trailing fractional
# zeros, and no point when none is left (NUMERIC '1.50' → '1.5', '2.0' → '2'; ZetaSQL's
# NumericValue and BigNumericValue::ToString, AddDecimalPointAndAdjustZeros in
# google/zetasql zetasql/public/numeric_value.cc); DuckDB's DECIMAL(38, 9) text keeps
# nine places (a BIGNUMERIC literal's DECIMAL(38, 5) five)
_NUMERIC_TEXT = r"REGEXP_REPLACE(CAST(_x AS VARCHAR), '\.0*$|(\.[0-9]*[1-9])0+$', '\1')"


# A TIMESTAMP as text in BigQuery: in UTC, "+00", and its fraction of a second in digits
# of three, none when it is whole ('2015-01-28 00:00:00.100+00', '... 00:00:00.000100+00':
# google/zetasql zetasql/compliance/testdata/timestamp.test, timestamp_to_string_2);
# DuckDB's text drops every trailing zero ('... 00:00:00.1+00')
_TIMESTAMP_TEXT = (
    "STRFTIME(_ts, '%Y-%m-%d %H:%M:%S') || CASE WHEN STRFTIME(_ts, '%f') = '000000' THEN '' "
    "WHEN STRFTIME(_ts, '%f') LIKE '%000' THEN '.' || LEFT(STRFTIME(_ts, '%f'), 3) "
    "ELSE '.' || STRFTIME(_ts, '%f') END || '+00'"
)


def as_text(node: Any) -> Any:
    """BigQuery's ``CAST(x AS STRING)`` (or ``SAFE_CAST``) of a FLOAT64, a NUMERIC or a
    TIMESTAMP in DuckDB, whose own text of a DOUBLE is the shortest that reads back with a
    ``.0`` kept (1.0 → '1.0' where BigQuery writes '1', 2/3 → '0.6666666666666666' where
    it writes '0.66666666666666663'), of a DECIMAL keeps its scale's trailing zeros
    ('1.500000000') and of a TIMESTAMP none (:data:`_TIMESTAMP_TEXT`). An operand of
    unknown type (a column, a parameter) is told apart by DuckDB's ``TYPEOF``; one of
    another known type is left alone."""
    from sqlglot import exp

    kind = _kind(node.this)
    if kind in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        # a BigQuery float literal (1.0) is a DECIMAL in DuckDB
        return from_template(_FLOAT_TEXT.replace("_double", "CAST(_x AS DOUBLE)"), _x=node.this)
    if kind in (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL):
        return from_template(_NUMERIC_TEXT, _x=node.this)
    if kind == exp.DataType.Type.TIMESTAMPTZ:  # BigQuery's TIMESTAMP
        return from_template(_TIMESTAMP_TEXT, _ts=node.this)
    if kind != exp.DataType.Type.UNKNOWN:
        return node
    text = _FLOAT_TEXT.replace("_double", _ANY_AS_DOUBLE)
    timestamp = _TIMESTAMP_TEXT.replace("_ts", "TRY_CAST(CAST(_x AS VARCHAR) AS TIMESTAMPTZ)")
    cast = "TRY_CAST" if node.args.get("safe") else "CAST"
    template = (
        f"CASE WHEN TYPEOF(_x) = 'DOUBLE' THEN {text} "
        f"WHEN TYPEOF(_x) LIKE 'DECIMAL%' THEN {_NUMERIC_TEXT} "
        f"WHEN TYPEOF(_x) = 'TIMESTAMP WITH TIME ZONE' THEN {timestamp} "
        f"ELSE {cast}(_x AS VARCHAR) END"
    )
    return from_template(template, _x=node.this)


def as_integer(node: Any) -> Any:
    """BigQuery's ``CAST(x AS INT64)`` (or ``SAFE_CAST``) of a FLOAT64 or a STRING in
    DuckDB. Of a FLOAT64 BigQuery returns the closest integer, "Halfway cases such as 1.5
    or -0.5 round away from zero"
    (cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast_as_int64);
    DuckDB's cast rounds them to even (2.5 → 2, 0.5 → 0) → its ``ROUND`` first, which
    rounds them away from zero. Of a STRING: :data:`_TEXT_AS_INTEGER`. An operand of
    unknown type is told apart by ``TYPEOF``."""
    from sqlglot import exp

    kind = _kind(node.this)
    safe = bool(node.args.get("safe"))
    cast = "TRY_CAST" if safe else "CAST"
    text_as_integer = _TEXT_AS_INTEGER.format(
        cast=cast, bad="NULL" if safe else "ERROR('Bad int64 value: ' || _text)"
    )
    if kind in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        return from_template(f"{cast}(ROUND(_x) AS BIGINT)", _x=node.this)
    if kind in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
        return from_template(text_as_integer, _text=node.this)
    if kind != exp.DataType.Type.UNKNOWN:
        return node
    text = text_as_integer.replace("_text", "CAST(_x AS VARCHAR)")
    template = (
        f"CASE WHEN TYPEOF(_x) = 'DOUBLE' THEN {cast}(ROUND({_ANY_AS_DOUBLE}) AS BIGINT) "
        f"WHEN TYPEOF(_x) = 'VARCHAR' THEN {text} "
        f"ELSE {cast}(_x AS BIGINT) END"
    )
    return from_template(template, _x=node.this)


# A STRING ``_text`` as INT64 in BigQuery: a sign, then decimal digits or 0x and hex digits
# ("Hex string can be cast to an integer. For example, 0x123 to 291 or -0x123 to -291",
# cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast_as_int64);
# spaces around it allowed (google/zetasql zetasql/public/functions/convert_string.cc,
# StringToNumeric); anything else is "Bad int64 value: 1.5" (``{bad}``; SAFE_CAST: NULL).
# DuckDB's cast read '1.5' as 2, '1e3' as 1000 and '1_000' as 1000, and refused '-0x1F'
_TEXT_AS_INTEGER = (
    r"CASE WHEN NOT REGEXP_FULL_MATCH(_text, '\s*[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)\s*') "
    r"THEN {bad} WHEN REGEXP_FULL_MATCH(_text, '\s*-0[xX].*') "
    "THEN -{cast}(REPLACE(_text, '-', '') AS BIGINT) ELSE {cast}(_text AS BIGINT) END"
)


# A DOUBLE ``_x`` as DOUBLE in a CASE branch that must bind for an operand of any type
# (through its text, which reads back as the same number)
_ANY_AS_DOUBLE = "TRY_CAST(CAST(_x AS VARCHAR) AS DOUBLE)"


def _kind(operand: Any) -> Any:
    """The ``exp.DataType.Type`` SQLGlot gives ``operand`` in BigQuery (``UNKNOWN`` for a
    column or a parameter)."""
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types

    known = annotate_types(operand.copy(), dialect="bigquery").type
    return known.this if known is not None else exp.DataType.Type.UNKNOWN


def substring(node: Any) -> Any:
    """BigQuery's ``SUBSTR(value, position[, length])`` in DuckDB: a position "off the left
    end" (0, or before ``-LENGTH(value)``) starts from 1, and a negative length is an
    error, "Third argument in SUBSTR() cannot be negative" (google/zetasql
    zetasql/public/functions/string.cc, SubstrWithLengthUtf8; docs/string_functions.md).
    DuckDB counts positions before the first character as empty places ('abcdef' from 0
    for 2 was 'a', 'abc' from -4 for 3 'ab') and reads a negative length backwards."""
    start = "CASE WHEN _position = 0 OR _position < -LENGTH(_value) THEN 1 ELSE _position END"
    length = node.args.get("length")
    if length is None:
        return from_template(
            f"SUBSTRING(_value, {start})", _value=node.this, _position=node.args["start"]
        )
    return from_template(
        "CASE WHEN _length < 0 THEN ERROR('Third argument in SUBSTR() cannot be negative') "
        f"ELSE SUBSTRING(_value, {start}, _length) END",
        _value=node.this,
        _position=node.args["start"],
        _length=length,
    )


# BigQuery's INSTR(value, subvalue, position, occurrence): the occurrence-th start of
# subvalue (overlapping ones counted) at or after position, or for a negative position at
# or before LENGTH(value) + position + 1 searching backwards (an empty subvalue starts at
# every place up to LENGTH(value) + 1, and a negative position reaches one further:
# INSTR('a', '', -1) is 2); 0 when there is none, NULL when an argument is, and an error
# for an occurrence below 1, then for a position of 0 (google/zetasql
# docs/string_functions.md INSTR; StrPosOccurrenceUtf8, StrNegativePosUtf8,
# kBadOccurrenceStringPos and kBadPosStringPos in zetasql/public/functions/string.cc)
_INSTR = (
    "CASE WHEN _value IS NULL OR _subvalue IS NULL OR _position IS NULL "
    "OR _occurrence IS NULL THEN NULL "
    "WHEN _occurrence < 1 THEN ERROR('Occurrence must be positive') "
    "WHEN _position = 0 THEN ERROR('Position must be non-zero') "
    "ELSE COALESCE(LIST_FILTER(CASE WHEN _position > 0 "
    "THEN RANGE(_position, LENGTH(_value) + 2) "
    "ELSE RANGE(LENGTH(_value) + _position + 1 + CAST(_subvalue = '' AS INT), 0, -1) END, "
    "LAMBDA _start: SUBSTRING(_value, _start, LENGTH(_subvalue)) = _subvalue)"
    "[_occurrence], 0) END"
)


def instr(node: Any) -> Any:
    """BigQuery's ``INSTR`` with a position or an occurrence in DuckDB: SQLGlot wrote a
    negative position as a search from that place forwards (INSTR('abcabc', 'c', -1) was
    -1, BigQuery answers 6) and dropped the occurrence (INSTR('abcabc', 'c', 1, 2) was 3,
    BigQuery answers 6)."""
    from sqlglot import exp

    found = from_template(
        _INSTR,
        _value=node.this,
        _subvalue=node.args["substr"],
        _position=node.args.get("position") or exp.Literal.number(1),
        _occurrence=node.args.get("occurrence") or exp.Literal.number(1),
    )
    for bracket in found.find_all(exp.Bracket):
        bracket.set("offset", 1)  # already DuckDB's position: SQLGlot must not shift it
    return found
