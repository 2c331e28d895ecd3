"""Logical table references → BigQuery's: every ``dataset.table`` of a statement written
as `` `project.dataset.table` `` (the dataset mapped through the profile's dataset map),
the rest of the text sent to BigQuery verbatim. The local warehouse's translation of the
same SQL is :mod:`nbaops.adapters.sql_dialect`.

Cached (the key includes the project and the dataset map) in memory and, given a
``cache_dir``, on disk (:mod:`nbaops.adapters.sql_cache`), so a warm run does not even
import SQLGlot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def _qualify(sql: str, project: str, datasets: tuple[tuple[str, str], ...]) -> str:
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.bigquery import BigQuery
    from sqlglot.tokenizer_core import TokenType

    from nbaops.bqschema.ddl import parse_bigquery

    try:
        statements = parse_bigquery(sql)
    except sqlglot.errors.SqlglotError:
        return sql  # let BigQuery report its own syntax error verbatim
    # Only references the parser saw as tables, written dataset.table (no project yet).
    wanted = {
        (t.args["db"].name, t.name)
        for s in statements
        for t in s.find_all(exp.Table)
        if t.args.get("db") and not t.args.get("catalog")
    }
    tokens = BigQuery().tokenize(sql)
    names = (TokenType.VAR, TokenType.IDENTIFIER)

    def reference_at(i: int) -> tuple[str, str, int] | None:
        """The ``dataset.table`` written from token ``i`` (one quoted identifier, or a name,
        a dot and a name): its dataset, its table and the index of its last token."""
        tok = tokens[i]
        if tok.token_type == TokenType.IDENTIFIER and tok.text.count(".") == 1:
            db, table = tok.text.split(".")
            return db, table, i
        if (
            tok.token_type in names
            and i + 2 < len(tokens)
            and tokens[i + 1].token_type == TokenType.DOT
            and tokens[i + 2].token_type in names
        ):
            return tok.text, tokens[i + 2].text, i + 2
        return None

    if any(isinstance(s, exp.Command) for s in statements):
        # SQLGlot keeps some statements as text (ALTER COLUMN ... SET OPTIONS): the table
        # is the reference right after ALTER TABLE [IF EXISTS].
        alter_table = (TokenType.ALTER, TokenType.TABLE)
        for i in range(len(tokens) - 2):
            if (tokens[i].token_type, tokens[i + 1].token_type) != alter_table:
                continue
            at = i + 2
            if (
                tokens[at].text.upper() == "IF"
                and at + 1 < len(tokens)
                and tokens[at + 1].token_type == TokenType.EXISTS
            ):
                at += 2
            ref = reference_at(at) if at < len(tokens) else None
            if ref is not None:
                wanted.add(ref[:2])
    if not wanted:
        return sql
    mapping = dict(datasets)
    edits: list[tuple[int, int, str]] = []
    for i, tok in enumerate(tokens):
        if i > 0 and tokens[i - 1].token_type == TokenType.DOT:
            continue  # the table part of a reference already seen
        ref = reference_at(i)
        if ref is not None and ref[:2] in wanted:
            db, table, last = ref
            qualified = f"`{project}.{mapping.get(db, db)}.{table}`"
            edits.append((tok.start, tokens[last].end, qualified))
    # Edit the original text in place (right to left) so everything else stays verbatim.
    out = sql
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end + 1 :]
    return out


def qualify_bigquery(
    sql: str,
    project: str,
    datasets: Mapping[str, str] | None = None,
    *,
    cache_dir: Path | None = None,
) -> str:
    """Write every ``dataset.table`` as `` `project.dataset.table` `` (datasets mapped); cached
    (on disk too with ``cache_dir``).

    Only the table references change; the rest of the text is sent to BigQuery verbatim.
    References that already name a project are left alone.
    """
    from nbaops.adapters.sql_cache import cached

    frozen = tuple(sorted((datasets or {}).items()))
    return str(
        cached(
            cache_dir,
            "bigquery",
            (sql, project, frozen),
            lambda: _qualify(sql, project, frozen),
        )
    )
