"""Breaking-change rules for BigQuery table schemas, modelled on ``buf breaking``.

Two categories (:data:`~nbaops.bqschema.model.CATEGORIES`):

- ``BIGQUERY``: BigQuery rejects the change as a schema update (``bq update`` /
  ``tables.patch``): a column removed or renamed without DDL, a REQUIRED column added,
  NULLABLE → REQUIRED, a change to or from REPEATED, a type change outside the coercions
  ``ALTER COLUMN ... SET DATA TYPE`` allows, narrowed type parameters, a new partitioning.
- ``CONSUMER``: the change breaks queries, readers or writers downstream: a column
  removed or renamed, any type change, a mode tightened, a policy tag removed,
  partitioning or clustering changed, a table removed.

Rules are excepted by id (``schema_rules.except``) or waived one change at a time
(``schema_rules.waivers``, with a reason and an expiry date; an expired waiver fails).
For the allowed part of a change — and for waived changes BigQuery can apply with DDL —
:func:`compare` returns the DDL that applies it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbaops.bqschema import ddl
from nbaops.bqschema.breaking_rules import BREAKING_RULES as BREAKING_RULES
from nbaops.bqschema.breaking_rules import COERCIONS as COERCIONS
from nbaops.bqschema.ddl import Statement
from nbaops.bqschema.defaults import DefaultExpressionError
from nbaops.bqschema.model import (
    CANONICAL_TYPES,
    CATEGORIES,
    UNSET_ROUNDING_MODE,
    Field,
    Finding,
    Severity,
    TableSchema,
)
from nbaops.errors import ConfigError
from nbaops.settings import load_section, setting

# -- config --------------------------------------------------------------------------------


NO_DATE = dt.date.min  # a waiver without ``expires`` (refused by Waiver.check)


@dataclass(frozen=True)
class Waiver:
    """One breaking change accepted until ``expires`` (inclusive)."""

    rule: str = ""
    table: str = ""
    column: str | None = None
    reason: str = ""
    expires: dt.date = NO_DATE

    def matches(self, rule: str, table: str, columns: Sequence[str]) -> bool:
        if rule != self.rule or table.lower() != self.table.lower():
            return False
        if self.column is None:
            return True
        return any(self.column.lower() == c.lower() for c in columns if c)

    def check(self, where: str) -> None:
        _check_rule_id(self.rule, f"{where}.rule")
        if "." not in self.table:
            raise ConfigError(f"{where}.table: must be dataset.table")
        if not self.reason.strip():
            raise ConfigError(f"{where}.reason: a waiver needs a reason")
        if self.expires == NO_DATE:
            raise ConfigError(f"{where}.expires: must be a date (YYYY-MM-DD)")


@dataclass(frozen=True)
class RuleConfig:
    """The ``schema_rules:`` section: categories in use, excepted ids, waivers."""

    use: tuple[str, ...] = setting(CATEGORIES, choices=CATEGORIES)
    except_ids: frozenset[str] = setting(frozenset(), key="except")
    waivers: tuple[Waiver, ...] = ()

    def check(self, where: str) -> None:
        for rule in sorted(self.except_ids):
            _check_rule_id(rule, f"{where}.except")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any] | None, source: str = "schema_rules"
    ) -> RuleConfig:
        """The section read strictly (:func:`nbaops.settings.load_section`): a services
        repository's file is not checked by nbaops' JSON Schema.

        Raises:
            ConfigError: unknown keys, categories, rule ids, or a malformed waiver.
        """
        return load_section(data, cls, source, strict=True)


def _check_rule_id(rule: str, where: str) -> None:
    if rule not in BREAKING_RULES:
        from nbaops.bqschema.lint_rules import suggest

        hint = suggest(rule, list(BREAKING_RULES))
        tail = f"; did you mean {hint}?" if hint else ""
        raise ConfigError(f"{where}: unknown rule id {rule!r}{tail}")


def _default_config() -> str | None:
    """``nbaops.yaml`` in the current folder or the nearest one above it, up to the
    repository root (the folder holding ``.git``): run from ``schemas/``, the hook still
    reads the waivers a run from the root reads."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / "nbaops.yaml"
        if candidate.is_file():
            return os.path.relpath(candidate)
        if (folder / ".git").exists():
            return None
    return None


def load_rule_config(path: str | None) -> RuleConfig:
    """The ``schema_rules`` section of a YAML file (``nbaops.yaml`` or a services repo's own).

    A missing default file means "all rules, no waivers".

    Raises:
        ConfigError: the file is unreadable or invalid, or the section is.
    """
    from nbaops.yaml_load import load_bounded, read_bounded

    if path is None:
        path = _default_config()
        if path is None:
            return RuleConfig()
    # the config's reader and loader: a regular file only, limits, one-line errors
    data = load_bounded(read_bounded(Path(path)), path)
    if data is None:
        return RuleConfig()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: top level must be a mapping")
    return RuleConfig.from_mapping(data.get("schema_rules"), f"{path}: schema_rules")


# -- comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One breaking change.

    Attributes:
        rule: the rule id.
        table: logical ``dataset.table``.
        column: dotted column path ("" for table-level rules).
        message: what changed.
        line: line in the new file (1 when the thing is gone).
        ddl: the statement that applies the change when it is waived (None: no DDL can).
        also: other names the change is known by (a rename's new name).
    """

    rule: str
    table: str
    column: str
    message: str
    line: int = 1
    ddl: Statement | None = None
    also: tuple[str, ...] = ()


@dataclass
class Comparison:
    """The differences between two versions of one table."""

    table: str
    violations: list[Violation] = field(default_factory=list)
    allowed: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # allowed changes without DDL

    @property
    def changed(self) -> bool:
        return bool(self.violations or self.allowed or self.notes)


def _params(f: Field) -> tuple[int | None, int | None, int | None]:
    """The type parameters as BigQuery applies them: NUMERIC(10) is NUMERIC(10, 0), and a
    NUMERIC without parameters is NUMERIC(38, 9) (BIGNUMERIC's 76.76 digits have no
    parameterized equal). The same type spelled two ways is not a change: a live table
    read back one way and its file written the other diffed forever."""
    precision, scale = f.precision, f.scale
    if f.type in ("NUMERIC", "BIGNUMERIC") and precision is not None and scale is None:
        scale = 0
    elif f.type == "NUMERIC" and precision is None and scale is None:
        precision, scale = f.numeric_params()
    return (f.max_length, precision, scale)


def _params_narrowed(old: Field, new: Field) -> str | None:
    """Why the new type parameters are narrower than the old ones (None: not narrower)."""
    if new.max_length is not None and (old.max_length is None or new.max_length < old.max_length):
        was = "unbounded" if old.max_length is None else str(old.max_length)
        return f"maxLength {was} -> {new.max_length}"
    if new.precision is not None and new.type in ("NUMERIC", "BIGNUMERIC"):
        # INT64 (a coercion to NUMERIC/BIGNUMERIC) holds 19 integer digits, no fraction.
        old_p, old_s = (19, 0) if old.type == "INT64" else old.numeric_params()
        # A BIGNUMERIC without parameters holds 76.76 digits (up to 5.78e38): a partial
        # 39th integer digit that no BIGNUMERIC(P, S) holds (at most 10^(P-S) - 10^-S,
        # TableFieldSchema.precision in the BigQuery REST reference).
        partial = old.type == "BIGNUMERIC" and old.precision is None
        new_p, new_s = new.numeric_params()
        if new_s < old_s or new_p - new_s < old_p - old_s + partial:
            was = f"{old.type} " if old.type != new.type else ""
            digits = "76.76" if partial else old_p
            return f"precision/scale {was}({digits}, {old_s}) -> ({new_p}, {new_s})"
    return None


def _same_shape(a: Field, b: Field) -> bool:
    return a.type == b.type and a.mode == b.mode and _params(a) == _params(b)


def _policy_tagged(f: Field, prefix: str = "") -> list[str]:
    """The dotted paths of ``f`` and of its sub-fields that carry a policy tag."""
    path = prefix + f.name
    own = [path] if f.policy_tags else []
    return own + [p for sub in f.fields for p in _policy_tagged(sub, path + ".")]


def _pair_renames(
    removed: list[tuple[int, Field]], added: list[tuple[int, Field]]
) -> list[tuple[Field, Field]]:
    pairs: list[tuple[Field, Field]] = []
    taken: set[int] = set()
    for old_index, old in removed:
        for j, (new_index, new) in enumerate(added):
            if j in taken or not _same_shape(old, new):
                continue
            same_doc = bool(old.description) and old.description == new.description
            if same_doc or old_index == new_index:
                pairs.append((old, new))
                taken.add(j)
                break
    return pairs


class _Comparer:
    def __init__(self, table: str, old: TableSchema, new: TableSchema | None) -> None:
        self.table = table
        self.result = Comparison(table)
        # how an unset column rounds and compares on the old and the new side: as the
        # table's default (model.TableSchema), else ROUND_HALF_AWAY_FROM_ZERO and
        # case-sensitive ('')
        self.old_unset = old.default_rounding_mode or UNSET_ROUNDING_MODE
        self.new_unset = (new and new.default_rounding_mode) or UNSET_ROUNDING_MODE
        self.old_collation = old.default_collation or ""
        self.new_collation = (new and new.default_collation) or ""

    def violation(
        self,
        rule: str,
        column: str,
        message: str,
        line: int,
        ddl_statement: Statement | None = None,
        also: tuple[str, ...] = (),
    ) -> None:
        self.result.violations.append(
            Violation(rule, self.table, column, message, line, ddl_statement, also)
        )

    def allow(
        self, top: bool, build: Callable[[], Statement], column: str, line: int, nested: str
    ) -> None:
        """An allowed change: at the top level its DDL (DEFAULT_VALID when its default
        cannot be built; a type DDL cannot name gets only a note, the lint hook's rule);
        nested, the note ``nested column COLUMN <nested>`` (DDL cannot reach it)."""
        if not top:
            self.result.notes.append(f"nested column {column} {nested}")
            return
        try:
            self.result.allowed.append(build())
        except DefaultExpressionError as exc:
            self.violation("DEFAULT_VALID", column, f"column {column}: {exc}", line)
        except ddl.DdlTypeError as exc:
            self.result.notes.append(f"column {column}: no DDL: {exc}")

    def fields(self, old: list[Field], new: list[Field], prefix: str, parent_line: int) -> None:
        top = not prefix
        old_map = {f.name.lower(): (i, f) for i, f in enumerate(old)}
        new_map = {f.name.lower(): (i, f) for i, f in enumerate(new)}
        removed = [old_map[k] for k in old_map if k not in new_map]
        added = [new_map[k] for k in new_map if k not in old_map]
        renames = _pair_renames(removed, added)
        renamed_old = {id(o) for o, _ in renames}
        renamed_new = {id(n) for _, n in renames}
        for o, n in renames:
            path = prefix + o.name
            self.violation(
                "FIELD_NO_RENAME",
                path,
                f"column {path} renamed to {prefix + n.name}",
                n.line,
                ddl.rename_column(self.table, o.name, n.name) if top else None,
                (prefix + n.name,),
            )
            # paired by type, mode and parameters only: the rest of the column (policy
            # tag, collation, sub-fields...) is compared as for a column kept, under the
            # new name (its DDL runs after the rename: _dedupe_plan)
            self.field(dataclasses.replace(o, name=n.name), n, prefix)
        for _, o in removed:
            if id(o) in renamed_old:
                continue
            path = prefix + o.name
            self.violation(
                "FIELD_NO_DELETE",
                path,
                f"column {path} ({o.mode} {o.type}) removed",
                parent_line,
                ddl.drop_column(self.table, o.name) if top else None,
            )
        for _, n in added:
            if id(n) in renamed_new:
                continue
            path = prefix + n.name
            if n.mode == "REQUIRED":
                self.violation(
                    "NO_REQUIRED_ADD",
                    path,
                    f"REQUIRED column {path} added to an existing table",
                    n.line,
                )
            else:
                self.allow(
                    top,
                    functools.partial(ddl.add_column, self.table, n),
                    path,
                    n.line,
                    "added: apply with `bq update` (tables.patch); DDL cannot add nested fields",
                )
                # DDL's column_schema has no policy tag (cloud.google.com/bigquery/docs/
                # reference/standard-sql/data-definition-language#column_name_and_column_schema)
                for tagged in _policy_tagged(n, prefix) if top else ():
                    self.result.notes.append(
                        f"column {tagged} policy tag: apply with `bq update` (DDL sets none)"
                    )
        for key, (_, o) in old_map.items():
            if key in new_map:
                self.field(o, new_map[key][1], prefix)

    def field(self, o: Field, n: Field, prefix: str) -> None:
        path = prefix + n.name
        top = not prefix
        if o.name != n.name:
            self.violation(
                "FIELD_NO_RENAME",
                path,
                f"column {prefix + o.name} renamed to {path} (case only)",
                n.line,
                ddl.rename_column(self.table, o.name, n.name) if top else None,
                (path,),
            )
        # mode
        if o.mode != n.mode:
            if "REPEATED" in (o.mode, n.mode):
                self.violation(
                    "REPEATED_SAME", path, f"column {path} mode {o.mode} -> {n.mode}", n.line
                )
            elif n.mode == "REQUIRED":
                self.violation(
                    "MODE_NO_TIGHTEN", path, f"column {path} mode NULLABLE -> REQUIRED", n.line
                )
            else:
                self.allow(
                    top,
                    functools.partial(ddl.drop_not_null, self.table, n.name),
                    path,
                    n.line,
                    "relaxed to NULLABLE: apply with `bq update` (tables.patch)",
                )
        # type (an unknown type is a lint error, not a type change)
        if o.type not in CANONICAL_TYPES or n.type not in CANONICAL_TYPES:
            pass
        elif o.type != n.type:
            coercible = n.type in COERCIONS.get(o.type, frozenset())
            # NUMERIC(10, 2) -> BIGNUMERIC(4, 1) is a coercion that loses digits.
            narrowed = _params_narrowed(o, n) if coercible else None
            if narrowed:
                self.violation("TYPE_PARAMS_NO_NARROW", path, f"column {path} {narrowed}", n.line)
            applies = top and coercible and not narrowed
            statement = ddl.set_data_type(self.table, n) if applies else None
            self.violation(
                "FIELD_SAME_TYPE",
                path,
                f"column {path} type {o.type} -> {n.type}",
                n.line,
                statement,
            )
            if not coercible:
                self.violation(
                    "FIELD_COERCIBLE_TYPE",
                    path,
                    f"column {path} type {o.type} -> "
                    f"{n.type} is not a coercion BigQuery applies in place",
                    n.line,
                )
        elif o.type == "STRUCT":
            self.fields(o.fields, n.fields, path + ".", n.line)
        elif _params(o) != _params(n):
            narrowed = _params_narrowed(o, n)
            if narrowed:
                self.violation("TYPE_PARAMS_NO_NARROW", path, f"column {path} {narrowed}", n.line)
            else:
                self.allow(
                    top,
                    functools.partial(ddl.set_data_type, self.table, n),
                    path,
                    n.line,
                    "type parameters widened: apply with `bq update`",
                )
        elif o.range_element != n.range_element:
            self.violation(
                "FIELD_SAME_TYPE",
                path,
                f"column {path} type RANGE<{o.range_element}> -> RANGE<{n.range_element}>",
                n.line,
            )
            self.violation(
                "FIELD_COERCIBLE_TYPE",
                path,
                f"column {path} RANGE element type cannot change in place",
                n.line,
            )
        # policy tags
        lost = [t for t in o.policy_tags if t not in n.policy_tags]
        if lost:
            self.violation(
                "POLICY_TAG_NO_DELETE", path, f"column {path} lost policy tag {lost[0]}", n.line
            )
        elif n.policy_tags != o.policy_tags:
            self.result.notes.append(f"column {path} policy tag added: apply with `bq update`")
        # metadata
        if (o.description or None) != (n.description or None):
            build = functools.partial(ddl.set_description, self.table, n.name, n.description)
            self.allow(top, build, path, n.line, "description changed: apply with `bq update`")
        if not _same_default(o.default, n.default):
            build = functools.partial(ddl.set_default, self.table, n.name, n.default)
            self.allow(top, build, path, n.line, "default changed")
        # stated differently (both unset keep theirs, whatever the table default became):
        # compare what each means, unset being the table's default collation
        before = self.old_collation if o.collation is None else o.collation
        after = self.new_collation if n.collation is None else n.collation
        if o.collation != n.collation and before != after:
            change = (
                f"collation {_collation(o.collation, before)} -> {_collation(n.collation, after)}"
            )
            self.violation("COLLATION_SAME", path, f"column {path} {change}", n.line)
        if o.rounding_mode != n.rounding_mode:
            change = f"roundingMode {o.rounding_mode or 'unset'} -> {n.rounding_mode or 'unset'}"
            # unset rounds as the table's default, else ROUND_HALF_AWAY_FROM_ZERO
            # (model.UNSET_ROUNDING_MODE, Google's RoundingMode reference): stating or
            # dropping that mode rounds values as before
            if (o.rounding_mode or self.old_unset) == (n.rounding_mode or self.new_unset):
                unset = self.old_unset if n.rounding_mode else self.new_unset
                self.result.notes.append(
                    f"column {path} {change}: the same rounding (unset is "
                    f"{unset}); apply with `bq update`"
                )
            else:
                self.violation("ROUNDING_MODE_SAME", path, f"column {path} {change}", n.line)


def _collation(stated: str | None, meant: str) -> str:
    """A column's collation in a message: unset shows what it compares as, the table's."""
    return repr(stated) if stated is not None else f"unset ({meant!r})"


def _same_default(old: str | None, new: str | None) -> bool:
    """Whether two ``defaultValueExpression`` texts are one default: the same text, or one
    expression written two ways. The DDL writes the parsed tree (``CURRENT_DATE()`` as
    ``CURRENT_DATE``), so a live table whose default schema-apply set reads back another
    text than its schema file; compared as text, the default "changed" on every run."""
    if old == new:
        return True
    if old is None or new is None:
        return False
    try:
        return ddl.default_sql(old) == ddl.default_sql(new)
    except DefaultExpressionError:
        return False


def _partition_key(schema: TableSchema) -> tuple[Any, ...] | None:
    p = schema.partitioning
    return None if p is None else (p.type, p.field.lower() if p.field else None, p.bounds)


def compare(old: TableSchema | None, new: TableSchema | None, table: str) -> Comparison:
    """Every difference between ``old`` (the base) and ``new`` (the proposal).

    ``old`` None means a new table (nothing can break); ``new`` None a removed table.
    Partitioning and clustering are compared when both sides know them.
    """
    if old is None:
        return Comparison(table)
    cmp = _Comparer(table, old, new)
    if new is None:
        cmp.violation("TABLE_NO_DELETE", "", f"table {table} removed", 1)
        return cmp.result
    cmp.fields(old.fields, new.fields, "", 1)
    if old.layout_known and new.layout_known:
        if _partition_key(old) != _partition_key(new):  # column names ignore case
            before = old.partitioning.describe() if old.partitioning else "none"
            after = new.partitioning.describe() if new.partitioning else "none"
            cmp.violation(
                "PARTITION_SAME", "", f"table {table} partitioning {before} -> {after}", 1
            )
        if tuple(c.lower() for c in old.clustering) != tuple(c.lower() for c in new.clustering):
            before = ", ".join(old.clustering) or "none"
            after = ", ".join(new.clustering) or "none"
            cmp.violation(
                "CLUSTER_SAME", "", f"table {table} clustering [{before}] -> [{after}]", 1
            )
        if new.require_partition_filter and not old.require_partition_filter:
            message = f"table {table} now requires a partition filter (requirePartitionFilter)"
            cmp.violation("PARTITION_FILTER_NO_REQUIRE", "", message, 1)
        elif old.require_partition_filter and not new.require_partition_filter:
            apply = "`bq update --norequire_partition_filter`"
            cmp.result.notes.append(f"requirePartitionFilter turned off: apply with {apply}")
    return cmp.result


# -- policy --------------------------------------------------------------------------------


@dataclass
class Verdicts:
    """A comparison judged against the rule config.

    Attributes:
        findings: errors (breaking, not waived) and warnings (waived).
        plan: DDL for the allowed changes plus waived changes DDL can apply.
        blocked: violations that stop ``schema-apply``.
        unappliable: waived violations no DDL can apply (need a manual migration).
    """

    findings: list[Finding] = field(default_factory=list)
    plan: list[Statement] = field(default_factory=list)
    blocked: list[Violation] = field(default_factory=list)
    unappliable: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.is_error for f in self.findings)

    def accept(self, v: Violation) -> None:
        """A violation let through (excepted, outside ``use``, waived): its DDL, or by hand."""
        if v.ddl is not None:
            self.plan.append(v.ddl)
        else:
            self.unappliable.append(v)


def judge(
    comparison: Comparison,
    config: RuleConfig,
    *,
    path: str,
    today: dt.date,
) -> Verdicts:
    """Apply ``use``/``except``/waivers to a comparison."""
    out = Verdicts(plan=list(comparison.allowed), notes=list(comparison.notes))
    for v in comparison.violations:
        rule = BREAKING_RULES[v.rule]
        if v.rule in config.except_ids or not set(rule.categories) & set(config.use):
            out.accept(v)
            continue
        matching = [w for w in config.waivers if w.matches(v.rule, v.table, (v.column, *v.also))]
        # a renewal added beside the expired waiver applies; with none valid, the expired
        # one (the latest) is named
        waiver = max(matching, key=lambda w: w.expires, default=None)
        waived = waiver is not None and waiver.expires >= today
        message = v.message
        if waiver is not None:
            expires = waiver.expires.isoformat()
            message += (
                f" (waived until {expires}: {waiver.reason})"
                if waived
                else f" (waiver expired on {expires}: {waiver.reason}; renew or remove it)"
            )
        severity = Severity.WARNING if waived else Severity.ERROR
        out.findings.append(Finding(path, v.line, v.rule, severity, message, v.table, v.column))
        if waived:
            out.accept(v)
        else:
            out.blocked.append(v)
    _dedupe_plan(out)
    return out


def _dedupe_plan(out: Verdicts) -> None:
    unique: dict[str, Statement] = {}
    for s in out.plan:
        unique.setdefault(s.sql, s)
    # ALTERs that rename must run before ones that use the new name; drops last.
    order = {
        "rename_column": 0,
        "drop_not_null": 1,
        "set_data_type": 2,
        "add_column": 3,
        "set_default": 4,
        "drop_default": 4,
        "set_description": 5,
        "drop_column": 6,
    }
    out.plan = sorted(unique.values(), key=lambda s: order.get(s.kind, 9))
