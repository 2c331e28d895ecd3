"""Column default values: exactly one expression of the form BigQuery accepts, as a tree.

BigQuery documents the default value expression of a column as "a literal or one of the
following functions: CURRENT_DATE, CURRENT_DATETIME, CURRENT_TIME, CURRENT_TIMESTAMP,
GENERATE_UUID, RAND, SESSION_USER, ST_GEOGPOINT", optionally composed into a STRUCT or
ARRAY such as ``[CURRENT_DATE(), DATE '2020-01-01']``
(https://cloud.google.com/bigquery/docs/default-values#default_value_expression).

:func:`parse_default` parses ``defaultValueExpression`` with SQLGlot (BigQuery dialect)
and accepts only that grammar, so a schema file can never smuggle a second statement
(``NULL; DROP TABLE ...``), a subquery or a column reference into DDL. The DDL builder
(:mod:`nbaops.bqschema.ddl`) inserts the parsed *tree*, never the text.
"""

from __future__ import annotations

from typing import Any

from nbaops.errors import UsageError, first_line

ALLOWED_FUNCTIONS = (
    "CURRENT_DATE",
    "CURRENT_DATETIME",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "GENERATE_UUID",
    "RAND",
    "SESSION_USER",
    "ST_GEOGPOINT",
)
# Longer than any sensible literal default; bounds the parser's work on hostile input.
MAX_DEFAULT_CHARS = 4096


class DefaultExpressionError(UsageError):
    """A ``defaultValueExpression`` that is not one allowed expression."""


def parse_default(text: str) -> Any:
    """Parse a default value expression into one SQLGlot expression of an allowed form.

    Args:
        text: the ``defaultValueExpression`` of a schema field.

    Returns:
        The SQLGlot expression (insert it into a DDL tree; never paste the text).

    Raises:
        DefaultExpressionError: not exactly one expression, or a form BigQuery does not
            accept as a default (the message says which).
    """
    import sqlglot

    if not text.strip():
        raise DefaultExpressionError("default value expression is empty")
    if len(text) > MAX_DEFAULT_CHARS:
        raise DefaultExpressionError(
            f"default value expression has {len(text)} characters (at most {MAX_DEFAULT_CHARS})"
        )
    try:
        parsed = [s for s in sqlglot.parse(text, read="bigquery") if s is not None]
    except (sqlglot.errors.SqlglotError, RecursionError) as exc:
        first = first_line(exc)
        raise DefaultExpressionError(f"default value does not parse: {first[:120]}") from None
    if len(parsed) != 1:
        raise DefaultExpressionError(
            f"default value must be exactly one expression, got {len(parsed)} statements"
        )
    _check(parsed[0])
    if _casts(text):
        from sqlglot import exp

        _reject(parsed[0].find(exp.Cast) or parsed[0])
    return parsed[0]


def _reject(node: Any) -> None:
    shown = node.sql(dialect="bigquery")[:60]
    raise DefaultExpressionError(
        f"default value {shown!r} is not a literal or one of "
        f"{', '.join(ALLOWED_FUNCTIONS)} (or an ARRAY/STRUCT of them)"
    )


# The types whose literals are a type name before a string (lexical#literals), by the
# names of SQLGlot's DataType.Type: DATE, TIME, DATETIME, TIMESTAMP, NUMERIC, BIGNUMERIC
# and RANGE<...> (JSON '...' and INTERVAL are nodes of their own).
_TYPED_LITERALS = frozenset(
    {"DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "DECIMAL", "BIGDECIMAL", "RANGE"}
)


def _is_string_literal(node: Any) -> bool:
    from sqlglot import exp

    return isinstance(node, exp.Literal) and bool(node.is_string)


def is_typed_literal(node: Any) -> bool:
    """Whether ``node`` is a typed literal: ``DATE '...'``, ``TIMESTAMP '...'``,
    ``NUMERIC '...'``, ``RANGE<DATE> '...'``..., which SQLGlot reads as a CAST of the
    string. Only to a type that has such a literal: INT64 '5' is no literal, and a
    SAFE_CAST or a CAST with a FORMAT is a function."""
    from sqlglot import exp

    if not isinstance(node, exp.Cast) or isinstance(node, exp.TryCast):
        return False
    typed = node.to.this.name if isinstance(node.to, exp.DataType) else None
    return (
        typed in _TYPED_LITERALS and _is_string_literal(node.this) and not node.args.get("format")
    )


def _casts(text: str) -> bool:
    """Whether ``text`` calls CAST: its tree is a typed literal's (SQLGlot reads
    ``DATE '2024-01-01'`` and ``CAST('2024-01-01' AS DATE)`` alike), but BigQuery lists
    CAST among no default's functions."""
    from sqlglot.dialects.bigquery import BigQuery

    tokens = BigQuery().tokenize(text)
    return any(
        token.text.upper() == "CAST" and following.text == "("
        for token, following in zip(tokens, tokens[1:], strict=False)
    )


def _is_hex_integer(node: Any) -> bool:
    """``0x1F``: "Integer literals are either a sequence of decimal digits (0–9) or a
    hexadecimal value that's prefixed with 0x or 0X" (lexical#integer_literals)."""
    from sqlglot import exp

    return isinstance(node, exp.HexString) and bool(node.args.get("is_integer"))


def _check(node: Any) -> None:
    from sqlglot import exp

    if isinstance(node, (exp.Literal, exp.Null, exp.Boolean, exp.ByteString, exp.RawString)):
        return
    if _is_hex_integer(node):
        return
    if isinstance(node, exp.Neg) and isinstance(node.this, (exp.Literal, exp.HexString)):
        number = _is_hex_integer(node.this) or isinstance(node.this, exp.Literal)
        if number and not node.this.is_string:
            return
    elif isinstance(node, exp.Paren):
        _check(node.this)
        return
    elif isinstance(node, exp.Cast):
        # typed literals (the DDL writes them back as such: ddl._render); CAST('x' AS
        # INT64) or a SAFE_CAST is a function BigQuery does not list
        if is_typed_literal(node):
            return
        # ARRAY<T>[...]: an array literal naming its element type (lexical#array_literals;
        # a CAST(... AS ARRAY<T>) is refused by _casts, SAFE_CAST is a TryCast)
        if (
            isinstance(node.this, exp.Array)
            and isinstance(node.to, exp.DataType)
            and node.to.is_type(exp.DataType.Type.ARRAY)
            and not isinstance(node, exp.TryCast)
            and not node.args.get("format")
        ):
            _check(node.this)
            return
    elif isinstance(node, exp.ParseJSON):  # JSON '...'
        if _is_string_literal(node.this) and node.args.get("is_literal"):
            return
    elif isinstance(node, exp.Interval):  # INTERVAL 1 DAY, INTERVAL '1-2' YEAR TO MONTH
        if isinstance(node.this, exp.Literal):
            return
    elif isinstance(node, (exp.Array, exp.Tuple)):
        for item in node.expressions:
            _check(item)
        return
    elif isinstance(node, exp.Struct):
        for item in node.expressions:
            if isinstance(item, exp.PropertyEQ) and isinstance(item.this, exp.Identifier):
                _check(item.expression)
            elif isinstance(item, exp.Alias):
                _check(item.this)
            else:
                _check(item)
        return
    elif isinstance(node, (exp.CurrentTimestamp, exp.CurrentTime, exp.Uuid, exp.Rand)):
        if not any(v for k, v in node.args.items() if k != "is_string"):
            return
    elif isinstance(node, (exp.CurrentDate, exp.CurrentDatetime)):
        zone = node.this
        if zone is None or _is_string_literal(zone):
            return
    elif isinstance(node, exp.SessionUser):
        return
    elif isinstance(node, exp.Anonymous) and str(node.this).upper() == "ST_GEOGPOINT":
        args = node.expressions
        if len(args) == 2 and all(
            (isinstance(a, exp.Literal) and not a.is_string)
            or (isinstance(a, exp.Neg) and isinstance(a.this, exp.Literal))
            for a in args
        ):
            return
    _reject(node)
