"""BigQuery Standard SQL → DuckDB, and logical table references → real ones.

nbaops SQL is written once, in BigQuery Standard SQL, with logical table names
(`` `nba_predictions.player_prop_predictions` ``) and named parameters (``@name``).
:func:`to_duckdb` transpiles it with SQLGlot (read="bigquery", write="duckdb") and then
fixes the semantic traps SQLGlot leaves in place, so the *same* query text gives the
same answer on both engines:

- ``EXTRACT(DAYOFWEEK ...)``: BigQuery counts Sunday = 1 … Saturday = 7, DuckDB 0 … 6 → +1.
- ``EXTRACT(WEEK ...)``/``WEEK(<WEEKDAY>)``: BigQuery's weeks begin on Sunday (or the
  weekday), days before the year's first one are week 0; DuckDB's ``week`` is the ISO
  week, and SQLGlot drops the weekday → computed from the day of the year.
  ``EXTRACT(ISOWEEK ...)`` is DuckDB's ``week``.
- ``PARSE_TIMESTAMP(fmt, text[, zone])``: a time without an offset is in ``zone``
  (default UTC); SQLGlot's ``strptime`` dropped the zone → ``AT TIME ZONE zone``.
- ``FORMAT(fmt, ...)``: BigQuery's printf-style specifiers; DuckDB's ``format`` takes
  ``{}`` and returned ``fmt`` unchanged → DuckDB's ``printf``.
- ``DATE_TRUNC``/``DATE_SUB``/``DATE_ADD``/``DATE_FROM_UNIX_DATE`` return DATE in
  BigQuery; DuckDB returns a TIMESTAMP → wrapped in ``CAST(... AS DATE)``.
- ``SUBSTR(value, position[, length])``: BigQuery starts a position off the left end (0,
  or before ``-LENGTH(value)``) from 1 and refuses a negative length; DuckDB counts the
  places before the first character ('abcdef' from 0 for 2 is 'a') → the position
  clamped, and BigQuery's "Third argument in SUBSTR() cannot be negative" raised.
- ``INSTR(value, subvalue, position[, occurrence])``: BigQuery searches backwards from a
  negative position and counts overlapping occurrences; SQLGlot searched forwards from
  it and dropped the occurrence → the matches' starts listed, and BigQuery's errors for
  a position of 0 and an occurrence below 1 raised.
- ``LIKE``: a backslash escapes the next character in BigQuery (``r'a\\_b'`` matches
  ``'a_b'`` only; a pattern ending with one is an error); DuckDB's ``LIKE`` has no escape
  character → ``ESCAPE '\\'``.
- ``SAFE.f(...)`` returns NULL instead of ``f``'s error in BigQuery; SQLGlot wrote the
  prefix as it was, which DuckDB cannot parse → ``TRY(...)``, the errors the rewrites
  raise (``ERROR()``, which TRY refuses as volatile) written as NULL. (TRY also hides an
  error of an argument, which BigQuery's prefix does not.)
- ``COUNTIF`` of no rows is 0 in BigQuery, DuckDB's ``COUNT_IF`` NULL → ``COUNT(CASE ...)``.
- ``TIMESTAMP_DIFF`` counts *whole* units elapsed in BigQuery (10:59:59 → 11:00:01 is
  0 hours); DuckDB's ``date_diff`` counts boundaries → uses DuckDB's ``date_sub`` (whole
  units). ``DATETIME_DIFF`` counts boundaries, as ``date_diff`` does: BigQuery documents
  ``DATETIME_DIFF('2010-07-07 10:20:00', '2008-12-25 15:30:00', DAY)`` = 559, with
  558 days 18:50 elapsed.
- ``TIMESTAMP_MILLIS``/``TIMESTAMP_MICROS`` return a TIMESTAMP; DuckDB's ``EPOCH_MS`` and
  ``MAKE_TIMESTAMP`` one without a zone (BigQuery's DATETIME) → cast to ``TIMESTAMPTZ``.
- ``UNIX_SECONDS``/``UNIX_MILLIS`` round down to the unit in BigQuery (01.8 s → 1, half a
  second before the epoch → -1); DuckDB's ``EPOCH``/``EPOCH_MS`` rounded to the nearest →
  ``DATE_DIFF`` from the epoch, which counts the unit's boundaries.
- ``EXTRACT(DATE FROM ts AT TIME ZONE z)`` → ``CAST(ts AT TIME ZONE z AS DATE)``.
- ``array[OFFSET(i)]``/``[ORDINAL(i)]`` and ``array[i]`` (BigQuery: ``[OFFSET(i)]``):
  DuckDB's lists start at 1 and answer NULL out of range → the position computed, and
  BigQuery's "Array index i is out of bounds" raised (``SAFE_OFFSET``/``SAFE_ORDINAL``:
  NULL). The same subscript of a STRUCT (BigQuery's struct subscript operator: the field
  at that position) → ``STRUCT_EXTRACT_AT``, where SQLGlot can type the operand as a
  STRUCT (a literal or CAST, a CTE's, subquery's or UNNEST's column of one); "Field
  ordinal i is out of bounds in STRUCT", a ``SAFE_`` keyword or a position that is not
  an integer literal are refused before the query runs.
- ``CAST(x AS STRING)`` of a FLOAT64: BigQuery writes ``"%.15g"`` (17 digits when 15 do
  not read back), so 1.0 → '1' and 1e20 → '1e+20'; DuckDB's text keeps '1.0' → formatted
  with ``printf``. Of a NUMERIC: BigQuery drops trailing fractional zeros (NUMERIC '1.50'
  → '1.5'), DuckDB's DECIMAL(38, 9) text keeps nine places → trimmed. (An operand of
  unknown type is told apart by ``TYPEOF`` when it runs.) Of a TIMESTAMP: BigQuery writes
  the fraction of a second in digits of three ('00:00:00.100+00'), DuckDB without its
  trailing zeros ('00:00:00.1+00') → written with ``STRFTIME``.
- ``CAST(x AS INT64)`` of a FLOAT64: BigQuery rounds halfway cases away from zero (2.5 →
  3), DuckDB to even (2.5 → 2) → ``ROUND`` first. Of a STRING: BigQuery takes only an
  integer (decimal, or hex as '-0x1F') and answers "Bad int64 value: 1.5" for anything
  else; DuckDB read '1.5' as 2 and '1e3' as 1000 → checked against that form first.
- ``x / 0``: an error in BigQuery ("division by zero"), inf, NaN or NULL in DuckDB → a
  zero divisor raises the error.
- a window's ``PARTITION BY`` and ``ORDER BY`` take no volatile expression in DuckDB, and
  ``ERROR()`` (which raises BigQuery's errors above) is one → NULL there, with the
  expressions that hold it evaluated beside the window function to raise the error.
- ``FORMAT_TIMESTAMP(fmt, ts, tz)``: SQLGlot drops the time zone → kept.
- ``CAST(x AS NUMERIC)``: DuckDB's bare DECIMAL is (18,3) → DECIMAL(38,9) like BigQuery.
- ``BYTES(L)`` (a maxLength in DDL): DuckDB's BLOB takes no length → ``BLOB``.
- a ``BIGNUMERIC`` or ``GEOGRAPHY`` column in DDL: DuckDB has neither → ``DOUBLE`` and
  ``VARCHAR``, the types :mod:`nbaops.table_catalog` creates such columns with.
- ``STRUCT<f T NOT NULL OPTIONS (...)>`` in DDL: DuckDB's ``STRUCT(...)`` fields take
  no constraint or option → the field's type alone (translated like any other).
- ``CURRENT_TIMESTAMP()``/``CURRENT_DATE()``/``CURRENT_DATETIME()`` → the hidden
  parameter ``$_nbaops_now`` bound to :func:`nbaops.clock.now`, so ``NBAOPS_NOW`` pins
  them locally. (On BigQuery they are the server's clock: checks pass ``@now``.) Not in a
  column ``DEFAULT`` of DDL: it is evaluated at each insert, and DuckDB takes no parameter
  there.

A rewrite that uses an operand more than once (a divisor's zero check, an array
position's bounds check, the float text's round-trip test) evaluates it once: DuckDB has
no ``LET``, so an operand that is not a name, a literal or a parameter is bound by a
one-element ``LIST_TRANSFORM([operand], LAMBDA _nbaops_name: ...)[1]``.

Table references: a ``project.`` qualifier is stripped and the dataset is mapped through
the profile's dataset map (DuckDB schemas carry the real dataset names). On BigQuery,
:func:`nbaops.adapters.sql_qualify.qualify_bigquery` writes every ``dataset.table`` as
``project.dataset.table``.

Translations are cached (the key includes the dataset map) in memory and, given a
``cache_dir``, on disk (:mod:`nbaops.adapters.sql_cache`), so a warm run does not even
import SQLGlot.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nbaops.adapters.sql_functions import (
    as_integer,
    as_text,
    from_template,
    instr,
    substring,
)
from nbaops.errors import WarehouseError, first_line

NOW_PARAM = "_nbaops_now"
_SUBSCRIPT = "nbaops_subscript"  # a positional subscript's number, in its node's meta

_WHOLE_UNIT_DIFF = {"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY"}
_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")


@dataclass(frozen=True)
class Translated:
    """A statement ready for DuckDB: its SQL, the ``$params`` it uses, and if it needs now."""

    sql: str
    params: frozenset[str]
    needs_now: bool


def _frozen(mapping: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((mapping or {}).items()))


def _parse(sql: str) -> list[Any]:
    import sqlglot

    from nbaops.bqschema.ddl import parse_bigquery

    try:
        statements = parse_bigquery(sql)
    except sqlglot.errors.SqlglotError as exc:
        raise WarehouseError(f"SQL does not parse as BigQuery SQL: {first_line(exc)}") from None
    if not statements:
        raise WarehouseError("empty SQL statement")
    return statements


def statement_count(sql: str) -> int:
    """How many statements ``sql`` holds as BigQuery parses it (SQLGlot, BigQuery dialect).

    Raises:
        WarehouseError: the SQL does not parse.
    """
    return len(_parse(sql))


def changing_statement(sql: str) -> str | None:
    """The kind of the first statement of ``sql`` that is not a pure query (``DELETE``,
    ``INSERT``, ``CREATE``… — also behind a ``WITH``, or nested), None when every
    statement only reads.

    Raises:
        WarehouseError: the SQL does not parse.
    """
    from sqlglot import exp

    changing = (
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Merge,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.TruncateTable,
        exp.Command,
    )
    for statement in _parse(sql):
        if not isinstance(statement, exp.Query):
            return str(statement.key).upper()
        found = statement.find(*changing)
        if found is not None:
            return str(found.key).upper()
    return None


def _unit_name(node: Any) -> str:
    unit = node.args.get("unit")
    if unit is None:
        return "DAY"
    return str(unit.name if hasattr(unit, "name") else unit).upper()


def _now_param() -> Any:
    from sqlglot import exp

    return exp.Parameter(this=exp.Var(this=NOW_PARAM))


def _week_number(value: Any, start: int) -> Any:
    """BigQuery's ``EXTRACT(WEEK(<start>) FROM value)`` in DuckDB (``start``: 0 = Sunday):
    the number of ``start`` weekdays from 1 January up to the last one on or before the
    day, so days before the year's first one are week 0."""
    from sqlglot import exp

    days_since_start = f"(DAYOFWEEK(_day) + {7 - start}) % 7"  # DuckDB's DAYOFWEEK: Sunday 0
    formula = f"(DAYOFYEAR(_day) - {days_since_start} + 6) // 7"
    return exp.Paren(this=from_template(formula, _day=value))


def _subscript_base(node: Any) -> int | None:
    """Where the positions of a subscript ``x[...]`` start: 0 for ``x[i]`` and
    ``x[OFFSET(i)]``, 1 for ``x[ORDINAL(i)]`` (``SAFE_`` alike); None for a subscript that
    is not a position (a string: a JSON field's or a STRUCT field's name). BigQuery:
    OFFSET(index) "produces the same result as index"; cloud.google.com/bigquery/docs/
    reference/standard-sql/operators#array_subscript_operator"""
    from sqlglot import exp

    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return None
    offset = node.args.get("offset")
    if offset in (0, 1):
        return int(offset)
    index = node.expressions[0]
    if offset is None and not node.args.get("json_access"):
        return None if isinstance(index, exp.Literal) and index.is_string else 0
    return None


def _struct_subscripts(tree: Any) -> dict[int, Any]:
    """The positional subscripts of ``tree`` (by ``id``) whose operand SQLGlot types as a
    STRUCT, each with that type: a STRUCT literal or CAST, or a CTE's, a subquery's or an
    UNNEST's column of one. Columns are typed through their sources in a qualified copy
    of the tree (made only when it has a positional subscript); an operand SQLGlot cannot
    type (a parameter) is not in it."""
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    subscripts = [b for b in tree.find_all(exp.Bracket) if _subscript_base(b) is not None]
    if not subscripts:
        return {}
    for number, subscript in enumerate(subscripts):
        subscript.meta[_SUBSCRIPT] = number  # copied with it, so found in the copy
    try:
        copy = qualify(tree.copy(), dialect="bigquery", validate_qualify_columns=False)
        typed = annotate_types(copy, dialect="bigquery")
    except Exception:  # a query SQLGlot cannot resolve: its operands stay untyped
        return {}
    finally:
        for subscript in subscripts:
            del subscript.meta[_SUBSCRIPT]
    found: dict[int, Any] = {}
    for subscript in typed.find_all(exp.Bracket):
        number = subscript.meta.get(_SUBSCRIPT)
        operand_type = subscript.this.type
        if number is not None and operand_type is not None and operand_type.is_type("struct"):
            found[id(subscripts[number])] = operand_type
    return found


def _struct_field(node: Any, struct: Any) -> Any:
    """BigQuery's struct subscript operator in DuckDB: ``s[i]`` / ``s[OFFSET(i)]`` is the
    field at position i from 0, ``s[ORDINAL(i)]`` from 1, i "an integer literal or
    constant", out of range "Field ordinal 6 is out of bounds in STRUCT", and no
    ``SAFE_`` keyword (cloud.google.com/bigquery/docs/reference/standard-sql/
    operators#struct_subscript_operator). DuckDB's ``s[i]`` takes a field's name, and
    the array rewrite's ``LEN(s)`` did not bind: "No function matches ...
    'length(STRUCT(...))'"."""
    from sqlglot import exp

    if node.args.get("safe"):
        raise WarehouseError(
            "the struct subscript operator takes OFFSET or ORDINAL: BigQuery supports no "
            "SAFE_OFFSET or SAFE_ORDINAL on a STRUCT"
        )
    index = node.expressions[0]
    try:
        value = index.to_py()
    except ValueError:
        value = None
    if not isinstance(value, int) or isinstance(value, bool):
        raise WarehouseError(
            f"a STRUCT subscript's position must be an integer literal locally, not {index.sql()}"
        )
    position = value + 1 - (_subscript_base(node) or 0)  # DuckDB's, from 1
    if not 1 <= position <= len(struct.expressions):
        raise WarehouseError(f"Field ordinal {value} is out of bounds in STRUCT")
    return exp.Anonymous(
        this="STRUCT_EXTRACT_AT", expressions=[node.this.copy(), exp.Literal.number(position)]
    )


def _array_element(node: Any, base: int) -> Any:
    """BigQuery's ``array[OFFSET(i)]`` / ``[ORDINAL(i)]`` / ``[i]`` (``SAFE_``: NULL out of
    range; ``base``: where its positions start) in DuckDB, whose lists start at 1, count
    from the end for a negative index and answer NULL out of range: SQLGlot shifted only a
    literal index (``arr[OFFSET(i)]`` read the element after), and BigQuery's "Array
    index 5 is out of bounds" became NULL."""
    from sqlglot import exp

    position = f"(_index + {1 - base})"
    if node.args.get("safe"):
        fallback = ""
    else:
        fallback = (
            " WHEN _index IS NOT NULL AND _array IS NOT NULL THEN "
            "ERROR('Array index ' || CAST(_index AS VARCHAR) || ' is out of bounds')"
        )
    element = from_template(
        f"CASE WHEN {position} BETWEEN 1 AND LEN(_array) THEN _array[{position}]{fallback} END",
        _array=node.this,
        _index=node.expressions[0],
    )
    for bracket in element.find_all(exp.Bracket):
        bracket.set("offset", 1)  # already DuckDB's position: SQLGlot must not shift it
    return exp.Paren(this=element)


def _fix_node(node: Any) -> Any:
    from sqlglot import exp

    base = _subscript_base(node)
    if base is not None:
        return _array_element(node, base)
    if isinstance(node, exp.Cast) and node.to.is_type("text") and not node.args.get("format"):
        return as_text(node)
    if isinstance(node, exp.Cast) and node.to.is_type("bigint"):
        return as_integer(node)
    if isinstance(node, exp.Div) and not node.args.get("safe"):
        # BigQuery: "division by zero" is an error (inf and NaN come only from inf or NaN
        # operands); DuckDB answers inf, NaN or NULL
        divisor = from_template(
            "CASE WHEN _divisor = 0 THEN ERROR('division by zero') ELSE _divisor END",
            _divisor=node.expression,
        )
        return exp.Div(this=node.this.copy(), expression=divisor, typed=node.args.get("typed"))

    if isinstance(node, exp.StrToTime):  # PARSE_TIMESTAMP (PARSE_DATETIME: ParseDatetime)
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal) and re.search(r"%E?[zZ]", fmt.name):
            return node  # the text carries its offset: the zone is not used
        zone = node.args.get("zone") or exp.Literal.string("UTC")
        parsed = node.copy()
        parsed.set("zone", None)
        return exp.AtTimeZone(this=parsed, zone=zone.copy())
    if isinstance(node, exp.Format):
        return exp.Anonymous(
            this="PRINTF", expressions=[node.this.copy(), *(e.copy() for e in node.expressions)]
        )
    if isinstance(node, exp.Extract):
        if isinstance(node.this, exp.WeekStart):
            return _week_number(node.expression, _WEEKDAYS.index(node.this.name.upper()))
        part = node.this.name.upper() if node.this is not None else ""
        if part == "WEEK":
            return _week_number(node.expression, 0)
        if part == "ISOWEEK":
            return exp.Extract(this=exp.var("WEEK"), expression=node.expression.copy())
        if part == "DAYOFWEEK":
            fixed = node.copy()
            return exp.Paren(this=exp.Add(this=fixed, expression=exp.Literal.number(1)))
        if part == "DATE":
            return exp.Cast(this=node.expression.copy(), to=exp.DataType.build("DATE"))
        return node
    if isinstance(node, exp.Substring) and node.args.get("start") is not None:
        return substring(node)
    if isinstance(node, exp.StrPosition) and (
        node.args.get("position") is not None or node.args.get("occurrence") is not None
    ):
        return instr(node)
    if isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
        # BigQuery: a backslash escapes the next character ('\\_' matches '_'); DuckDB's
        # LIKE has none without ESCAPE (ESCAPE '\\' also refuses a trailing one, as BigQuery)
        return exp.Escape(this=node.copy(), expression=exp.Literal.string("\\"))
    if isinstance(node, exp.SafeFunc):
        # SAFE.f(...): NULL instead of f's error. DuckDB's TRY(...) answers NULL for an
        # error and refuses a volatile ERROR() inside it: the rewrites' errors become NULL.
        inner = node.this.copy()
        for call in [c for c in inner.find_all(exp.Anonymous) if str(c.name).upper() == "ERROR"]:
            call.replace(exp.Null())
        return exp.Anonymous(this="TRY", expressions=[inner])
    if isinstance(node, exp.CountIf):
        # BigQuery: "Returns 0 if there are zero input rows"; DuckDB's COUNT_IF: NULL
        return from_template("COUNT(CASE WHEN _condition THEN 1 END)", _condition=node.this)
    if isinstance(node, (exp.DateSub, exp.DateAdd, exp.DateTrunc, exp.DateFromUnixDate)):
        parent = node.parent
        if isinstance(parent, exp.Cast) and parent.to.is_type("date"):
            return node
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DATE"))
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is not None:
        # TIMESTAMP_MILLIS/_MICROS: DuckDB's EPOCH_MS/MAKE_TIMESTAMP have no zone (DATETIME)
        return exp.cast(node.copy(), "TIMESTAMPTZ")
    if isinstance(node, (exp.UnixSeconds, exp.UnixMillis)):
        # BigQuery rounds down to the unit; DuckDB's CAST(EPOCH(ts)) and EPOCH_MS round to
        # the nearest. DATE_DIFF counts the unit's boundaries since the epoch: a floor.
        unit = "SECOND" if isinstance(node, exp.UnixSeconds) else "MILLISECOND"
        epoch = exp.cast(exp.Literal.string("1970-01-01 00:00:00+00"), "TIMESTAMPTZ")
        return exp.Anonymous(
            this="DATE_DIFF", expressions=[exp.Literal.string(unit), epoch, node.this.copy()]
        )
    if isinstance(node, exp.TimestampDiff):
        unit = _unit_name(node)
        if unit in _WHOLE_UNIT_DIFF:
            return exp.Anonymous(
                this="DATE_SUB",
                expressions=[exp.Literal.string(unit), node.expression.copy(), node.this.copy()],
            )
        return node
    if isinstance(node, exp.TimeToStr) and node.args.get("zone") is not None:
        inner = node.this
        if isinstance(inner, exp.TsOrDsToTimestamp):
            inner = inner.this
        return exp.Anonymous(
            this="STRFTIME",
            expressions=[
                exp.AtTimeZone(this=inner.copy(), zone=node.args["zone"].copy()),
                node.args["format"].copy(),
            ],
        )
    if isinstance(
        node, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentDatetime)
    ) and node.find_ancestor(exp.DefaultColumnConstraint, exp.AlterColumn):
        # A column DEFAULT is evaluated at each insert, and DuckDB refuses a parameter there.
        return node
    if isinstance(node, exp.CurrentTimestamp):
        return _now_param()
    if isinstance(node, (exp.CurrentDate, exp.CurrentDatetime)):
        zone = node.this.copy() if node.this is not None else exp.Literal.string("UTC")
        target = "DATE" if isinstance(node, exp.CurrentDate) else "TIMESTAMP"
        return exp.Cast(
            this=exp.AtTimeZone(this=_now_param(), zone=zone), to=exp.DataType.build(target)
        )
    if (
        isinstance(node, exp.ColumnDef)
        and isinstance(node.parent, exp.DataType)
        and node.args.get("constraints")
    ):
        # A STRUCT field's NOT NULL and OPTIONS (description=...): BigQuery DDL keeps them,
        # DuckDB's STRUCT(...) type has no place for either (NOT NULL is a syntax error).
        struct_field = node.copy()
        struct_field.set("constraints", None)
        return struct_field  # its type is already translated (_fix_tree: operands first)
    if isinstance(node, exp.ColumnDef) and any(
        isinstance(c.args.get("kind"), exp.CollateColumnConstraint)
        for c in node.args.get("constraints") or ()
    ):
        # BigQuery's COLLATE 'und:ci' names no DuckDB collation (the local warehouse reads a
        # column's collation back from its schema file, as other attributes it cannot hold)
        column = node.copy()
        kept = [
            c
            for c in column.args["constraints"]
            if not isinstance(c.args.get("kind"), exp.CollateColumnConstraint)
        ]
        column.set("constraints", kept or None)
        return column
    if isinstance(node, exp.AlterColumn) and node.args.get("collate") is not None:
        altered = node.copy()  # SET DATA TYPE STRING(20) COLLATE 'und:ci': the same
        altered.set("collate", None)
        return altered
    if (
        isinstance(node, exp.DataType)
        and node.this in (exp.DataType.Type.BINARY, exp.DataType.Type.VARBINARY)
        and node.expressions
    ):
        return exp.DataType.build("BLOB")  # BYTES(8): DuckDB's BLOB takes no length
    if (
        isinstance(node, exp.DataType)
        and node.this == exp.DataType.Type.DECIMAL
        and not node.expressions
    ):
        return exp.DataType.build("DECIMAL(38, 9)")
    if (
        isinstance(node, exp.DataType)
        and getattr(node.this, "name", None) in _held_as_in_ddl()
        and node.find_ancestor(exp.ColumnDef, exp.AlterColumn) is not None
    ):
        # a column's type: what nbaops.table_catalog creates the same column as
        return exp.DataType.build(_held_as_in_ddl()[node.this.name])
    return node


@functools.cache
def _held_as_in_ddl() -> dict[str, str]:
    """SQLGlot's name of each BigQuery column type DuckDB has no type for → the DuckDB
    type :mod:`nbaops.table_catalog` creates such a column as (its ``UNHELD_TYPES``)."""
    from sqlglot import exp

    from nbaops.table_catalog import UNHELD_TYPES

    return {
        exp.DataType.build(bq, dialect="bigquery").this.name: duck
        for bq, duck in UNHELD_TYPES.items()
    }


def _fix_tree(tree: Any) -> Any:
    """``tree`` with :func:`_fix_node` (a positional subscript of a STRUCT:
    :func:`_struct_field`) applied to every node, each node's descendants before it: a
    rewrite copies its operands, so they must already be rewritten (SQLGlot's top-down
    ``transform`` skips a replaced node's subtree, and ``CURRENT_DATE()`` inside
    ``DATE_SUB`` kept DuckDB's real clock)."""
    structs = _struct_subscripts(tree)
    for node in reversed(list(tree.dfs())):  # pre-order reversed: descendants first
        struct = structs.get(id(node))
        fixed = _fix_node(node) if struct is None else _struct_field(node, struct)
        if fixed is not node:
            if node is tree:
                tree = fixed
            else:
                node.replace(fixed)
    _raise_beside_windows(tree)
    return tree


def _raise_beside_windows(tree: Any) -> None:
    """DuckDB refuses a volatile expression in a window's PARTITION BY or ORDER BY
    ("ORDER BY window expressions cannot be volatile"), and ``ERROR()``, which raises
    BigQuery's errors (a zero divisor, an array index out of range...), is volatile: so
    there each ``ERROR(...)`` becomes NULL, and the expressions holding one are evaluated,
    as they were, beside the window function, in ``CASE WHEN ROW(...) IS NULL THEN NULL
    ELSE <the function> END`` (a ROW is never NULL): the same rows raise the same error."""
    from sqlglot import exp

    def raising(expression: Any) -> list[Any]:
        return [
            call for call in expression.find_all(exp.Anonymous) if str(call.name).upper() == "ERROR"
        ]

    def spec(window: Any) -> list[Any]:  # its PARTITION BY and ORDER BY expressions
        order = window.args.get("order")
        ordered = [o.this for o in order.expressions] if order is not None else []
        return [*(window.args.get("partition_by") or []), *ordered]

    def named(window: Any) -> list[Any]:  # OVER w: the WINDOW clause's w
        select = window.find_ancestor(exp.Select)
        name = window.args.get("alias")
        if select is None or name is None:
            return []
        return [w for w in select.args.get("windows") or [] if w.name == name.name]

    calls = [w for w in tree.find_all(exp.Window) if not isinstance(w.this, exp.Identifier)]
    checked = []  # (a window function, the expressions of its specification that raise)
    for call in calls:
        parts = [p for w in (call, *named(call)) for p in spec(w) if raising(p)]
        if parts:
            checked.append((call, exp.Anonymous(this="ROW", expressions=[p.copy() for p in parts])))
            for error in (e for p in parts for e in raising(p)):
                error.replace(exp.Null())
    for call, checks in checked:
        call.replace(
            from_template(
                "CASE WHEN _checks IS NULL THEN NULL ELSE _call END", _checks=checks, _call=call
            )
        )


def _rewrite_tables(tree: Any, datasets: Mapping[str, str]) -> Any:
    """``tree`` with each ``[project.]dataset.table`` as DuckDB's ``real_dataset.table``."""
    from sqlglot import exp

    def visit(node: Any) -> Any:
        # A reference without a dataset is a CTE or an UNNEST alias: left alone.
        if not isinstance(node, exp.Table) or not node.args.get("db"):
            return node
        db = node.args["db"].name
        real = datasets.get(db, db)
        node = node.copy()
        node.set("db", exp.to_identifier(real))
        node.set("catalog", None)
        return node

    return tree.transform(visit)


def _to_duckdb(sql: str, datasets: tuple[tuple[str, str], ...]) -> tuple[Translated, ...]:
    from sqlglot import exp

    out: list[Translated] = []
    for statement in _parse(sql):
        tree = _fix_tree(_rewrite_tables(statement, dict(datasets)))
        params = frozenset(p.name for p in tree.find_all(exp.Parameter))
        try:
            text = tree.sql(dialect="duckdb", unsupported_level="raise")
        except Exception as exc:  # sqlglot UnsupportedError and friends
            raise WarehouseError(
                f"SQL cannot run on the local warehouse: {first_line(exc)}"
            ) from None
        out.append(Translated(text, params - {NOW_PARAM}, NOW_PARAM in params))
    return tuple(out)


def to_duckdb(
    sql: str, datasets: Mapping[str, str] | None = None, *, cache_dir: Path | None = None
) -> tuple[Translated, ...]:
    """Transpile BigQuery SQL (one or more statements) for DuckDB; cached (on disk too
    with ``cache_dir``).

    Raises:
        WarehouseError: the SQL does not parse or uses something DuckDB cannot express.
    """
    from nbaops.adapters.sql_cache import cached

    frozen = _frozen(datasets)

    def compute() -> list[dict[str, Any]]:  # JSON for the cache: params as a sorted list
        return [{**asdict(t), "params": sorted(t.params)} for t in _to_duckdb(sql, frozen)]

    stored = cached(cache_dir, "duckdb", (sql, frozen), compute)
    return tuple(Translated(**{**t, "params": frozenset(t["params"])}) for t in stored)
