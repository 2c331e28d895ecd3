"""Schema safety for BigQuery table schemas: lint, breaking-change rules, SQL references.

Public API (light imports only; sqlglot is loaded by :mod:`nbaops.bqschema.sql_refs`):

- :func:`nbaops.bqschema.lint.lint_paths` / ``lint_document`` → list of :class:`Finding`
- :func:`nbaops.bqschema.parse.read_document` / ``to_table_schema``
- :func:`nbaops.bqschema.breaking.compare` (two :class:`TableSchema`) and
  :func:`~nbaops.bqschema.breaking.judge` (apply ``schema_rules``)
- :func:`nbaops.bqschema.diff.check_against_ref` (files vs a git ref)
- :func:`nbaops.bqschema.sql_refs.check_paths` (SQL in Python sources vs ``schemas/``)
- rule catalogs: ``lint_rules.LINT_RULES``, ``breaking.BREAKING_RULES``,
  ``sql_refs.SQL_RULES`` (documented in ``docs/schema-rules.md``)
- the vocabulary (:class:`Finding`, :class:`Rule`, :class:`TableSchema`, ...):
  :mod:`nbaops.bqschema.model`
"""
