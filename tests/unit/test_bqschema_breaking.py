"""Breaking-change rules: each fires on the change it names and not on allowed ones; waivers,
exceptions and DDL; realistic histories (rename, widen, relax, tighten, drop) in git."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nbaops.bqschema.breaking import (
    BREAKING_RULES,
    RuleConfig,
    compare,
    judge,
    load_rule_config,
)
from nbaops.bqschema.diff import check_against_ref, render_lines
from nbaops.bqschema.model import Severity
from nbaops.bqschema.parse import decode_document, to_table_schema
from nbaops.errors import ConfigError, UsageError, WarehouseError

TODAY = dt.date(2026, 11, 25)
BASE: list[dict[str, Any]] = [
    {"name": "game_id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "game_date", "type": "DATE", "mode": "REQUIRED", "description": "Partition"},
    {"name": "points", "type": "INTEGER", "mode": "NULLABLE"},
    {"name": "minutes", "type": "FLOAT", "mode": "REQUIRED"},
    {"name": "tags", "type": "STRING", "mode": "REPEATED"},
    {"name": "ssn", "type": "STRING",
     "policyTags": {"names": ["projects/p/locations/us/taxonomies/1/policyTags/9"]}},
    {"name": "code", "type": "STRING", "maxLength": "10"},
    {"name": "price", "type": "NUMERIC", "precision": "10", "scale": "2"},
    {"name": "shot", "type": "RECORD", "mode": "NULLABLE",
     "fields": [{"name": "zone", "type": "STRING"}, {"name": "made", "type": "BOOL"}]},
]  # fmt: skip


def schema(fields: list[dict[str, Any]], table: dict[str, Any] | None = None) -> Any:
    doc: Any = {"schema": {"fields": fields}, **table} if table is not None else fields
    return to_table_schema(decode_document("t.json", json.dumps(doc, indent=2).encode()))


def edit(change: Callable[[list[dict[str, Any]]], None]) -> list[dict[str, Any]]:
    fields = json.loads(json.dumps(BASE))
    change(fields)
    return fields


def col(fields: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in fields if f["name"] == name)


def violations(new: list[dict[str, Any]]) -> list[str]:
    return sorted(v.rule for v in compare(schema(BASE), schema(new), "nba.t").violations)


def allowed_sql(new: list[dict[str, Any]]) -> list[str]:
    return [s.sql for s in compare(schema(BASE), schema(new), "nba.t").allowed]


# -- each rule fires ------------------------------------------------------------------------


def test_identical_and_alias_only_changes_are_not_breaking() -> None:
    assert violations(BASE) == []

    def aliases(f: list[dict[str, Any]]) -> None:
        col(f, "points")["type"] = "INT64"
        col(f, "minutes")["type"] = "float64"
        col(f, "shot")["type"] = "STRUCT"
        col(f, "game_id")["mode"] = "required"

    assert violations(edit(aliases)) == []
    assert allowed_sql(edit(aliases)) == []


def test_field_no_delete_top_level_and_nested() -> None:
    assert violations(edit(lambda f: f.remove(col(f, "points")))) == ["FIELD_NO_DELETE"]
    nested = edit(lambda f: col(f, "shot")["fields"].pop())
    result = compare(schema(BASE), schema(nested), "nba.t")
    assert [(v.rule, v.column, v.ddl) for v in result.violations] == [
        ("FIELD_NO_DELETE", "shot.made", None)
    ]


def test_field_no_rename_by_position_and_by_description() -> None:
    assert violations(edit(lambda f: col(f, "points").update(name="pts"))) == ["FIELD_NO_RENAME"]

    def moved(f: list[dict[str, Any]]) -> None:
        d = col(f, "game_date")
        f.remove(d)
        f.append({**d, "name": "gamedate"})

    result = compare(schema(BASE), schema(edit(moved)), "nba.t")
    (v,) = result.violations
    assert (v.rule, v.column, v.also) == ("FIELD_NO_RENAME", "game_date", ("gamedate",))
    assert v.ddl is not None and "RENAME COLUMN `game_date` TO `gamedate`" in v.ddl.sql


def test_delete_plus_unrelated_add_is_not_a_rename() -> None:
    def change(f: list[dict[str, Any]]) -> None:
        f.remove(col(f, "points"))
        f.append({"name": "assists", "type": "INT64"})

    assert violations(edit(change)) == ["FIELD_NO_DELETE"]
    assert allowed_sql(edit(change)) == [
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `assists` INT64"
    ]


@pytest.mark.parametrize(
    ("column", "new_type", "expected"),
    [
        ("points", "NUMERIC", ["FIELD_SAME_TYPE"]),
        ("points", "BIGNUMERIC", ["FIELD_SAME_TYPE"]),
        ("points", "FLOAT64", ["FIELD_SAME_TYPE"]),
        ("price", "BIGNUMERIC", ["FIELD_SAME_TYPE"]),
        ("minutes", "INT64", ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]),
        ("game_id", "INT64", ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]),
        ("game_date", "DATETIME", ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]),
        # outside the coercion table: NUMERIC narrows to INT64, only widens to FLOAT64
        ("price", "INT64", ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]),
        ("price", "FLOAT64", ["FIELD_SAME_TYPE"]),
        ("points", "STRING", ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]),
    ],
)
def test_type_changes(column: str, new_type: str, expected: list[str]) -> None:
    def change(f: list[dict[str, Any]]) -> None:
        col(f, column)["type"] = new_type
        col(f, column).pop("precision", None)
        col(f, column).pop("scale", None)

    assert violations(edit(change)) == expected


def test_widening_carries_set_data_type_ddl() -> None:
    new = edit(lambda f: col(f, "points").update(type="NUMERIC"))
    (v,) = compare(schema(BASE), schema(new), "nba.t").violations
    assert v.ddl is not None
    assert v.ddl.sql == "ALTER TABLE `nba.t` ALTER COLUMN `points` SET DATA TYPE NUMERIC"


def test_type_params_narrow_and_widen() -> None:
    assert violations(edit(lambda f: col(f, "code").update(maxLength="5"))) == [
        "TYPE_PARAMS_NO_NARROW"
    ]
    assert violations(edit(lambda f: col(f, "ssn").update(maxLength="5"))) == [
        "TYPE_PARAMS_NO_NARROW"
    ]
    assert violations(edit(lambda f: col(f, "price").update(scale="1"))) == [
        "TYPE_PARAMS_NO_NARROW"
    ]
    widened = edit(lambda f: col(f, "code").update(maxLength="20"))
    assert violations(widened) == []
    assert allowed_sql(widened) == [
        "ALTER TABLE `nba.t` ALTER COLUMN `code` SET DATA TYPE STRING(20)"
    ]
    unbounded = edit(lambda f: col(f, "code").pop("maxLength"))
    assert allowed_sql(unbounded) == [
        "ALTER TABLE `nba.t` ALTER COLUMN `code` SET DATA TYPE STRING"
    ]
    price = edit(lambda f: col(f, "price").update(precision="12", scale="4"))
    assert violations(price) == []


def test_widening_a_repeated_column_sets_the_whole_array_type() -> None:
    # BigQuery's SET DATA TYPE takes the column's full type: a REPEATED NUMERIC(10, 2)
    # widened to (12, 2) is ARRAY<NUMERIC(12, 2)>, never the scalar NUMERIC(12, 2).
    fields = edit(lambda f: f.append({"name": "odds", "type": "NUMERIC", "mode": "REPEATED",
                                      "precision": "10", "scale": "2"}))  # fmt: skip
    widened = json.loads(json.dumps(fields))
    col(widened, "odds")["precision"] = "12"
    result = compare(schema(fields), schema(widened), "nba.t")
    assert result.violations == []
    assert [s.sql for s in result.allowed] == [
        "ALTER TABLE `nba.t` ALTER COLUMN `odds` SET DATA TYPE ARRAY<NUMERIC(12, 2)>"
    ]
    short = edit(lambda f: col(f, "tags").update(maxLength="2"))
    longer = edit(lambda f: col(f, "tags").update(maxLength="4"))
    assert [s.sql for s in compare(schema(short), schema(longer), "nba.t").allowed] == [
        "ALTER TABLE `nba.t` ALTER COLUMN `tags` SET DATA TYPE ARRAY<STRING(4)>"
    ]


@pytest.mark.parametrize(
    ("column", "params", "narrowed"),
    [
        ("price", {"type": "BIGNUMERIC", "precision": "4", "scale": "1"}, True),  # (10, 2)
        ("price", {"type": "BIGNUMERIC", "precision": "40", "scale": "2"}, False),
        ("points", {"type": "NUMERIC", "precision": "3"}, True),  # INT64: 19 digits
        ("points", {"type": "NUMERIC", "precision": "19"}, False),
        ("points", {"type": "BIGNUMERIC", "precision": "20", "scale": "2"}, True),
    ],
)
def test_a_coercion_that_also_narrows_the_parameters(
    column: str, params: dict[str, str], narrowed: bool
) -> None:
    # The type change is a coercion (FIELD_SAME_TYPE, waivable, with its DDL), but digits
    # the old type holds must still fit: BigQuery only widens type parameters.
    new = edit(lambda f: col(f, column).update(params))
    (v_same,) = [v for v in compare(schema(BASE), schema(new), "nba.t").violations
                 if v.rule == "FIELD_SAME_TYPE"]  # fmt: skip
    if narrowed:
        assert violations(new) == ["FIELD_SAME_TYPE", "TYPE_PARAMS_NO_NARROW"]
        assert v_same.ddl is None  # no SET DATA TYPE to offer: BigQuery would refuse it
    else:
        assert violations(new) == ["FIELD_SAME_TYPE"]
        assert v_same.ddl is not None


def test_modes() -> None:
    assert violations(edit(lambda f: col(f, "points").update(mode="REQUIRED"))) == [
        "MODE_NO_TIGHTEN"
    ]
    assert violations(edit(lambda f: col(f, "points").update(mode="REPEATED"))) == ["REPEATED_SAME"]
    assert violations(edit(lambda f: col(f, "tags").update(mode="NULLABLE"))) == ["REPEATED_SAME"]
    relaxed = edit(lambda f: col(f, "minutes").update(mode="NULLABLE"))
    assert violations(relaxed) == []
    assert allowed_sql(relaxed) == ["ALTER TABLE `nba.t` ALTER COLUMN `minutes` DROP NOT NULL"]
    no_mode = edit(lambda f: col(f, "minutes").pop("mode"))
    assert allowed_sql(no_mode) == ["ALTER TABLE `nba.t` ALTER COLUMN `minutes` DROP NOT NULL"]


def test_no_required_add_and_allowed_adds() -> None:
    required = edit(lambda f: f.append({"name": "venue", "type": "STRING", "mode": "REQUIRED"}))
    assert violations(required) == ["NO_REQUIRED_ADD"]

    def adds(f: list[dict[str, Any]]) -> None:
        f.append({"name": "venue", "type": "STRING", "description": "Arena's name"})
        f.append({"name": "quarters", "type": "INT64", "mode": "REPEATED"})
        f.append({"name": "src", "type": "STRING", "defaultValueExpression": "'nba_api'"})
        col(f, "shot")["fields"].append({"name": "distance", "type": "FLOAT64"})

    result = compare(schema(BASE), schema(edit(adds)), "nba.t")
    assert result.violations == []
    assert [s.sql for s in result.allowed] == [
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `venue` STRING "
        "OPTIONS (description='Arena\\'s name')",
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `quarters` ARRAY<INT64>",
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `src` STRING DEFAULT 'nba_api'",
    ]
    assert result.notes and "shot.distance" in result.notes[0]


def test_policy_tag_no_delete() -> None:
    assert violations(edit(lambda f: col(f, "ssn").pop("policyTags"))) == ["POLICY_TAG_NO_DELETE"]


def test_an_added_column_with_a_policy_tag_says_the_ddl_does_not_set_it() -> None:
    """BigQuery's column_schema (DDL reference, column_name_and_column_schema) takes a
    type, collation, default, NOT NULL and OPTIONS, no policy tag: schema-apply added a
    tagged column (or a RECORD with a tagged sub-field) untagged, readable by every reader
    of the table, and said nothing until the next live diff."""
    tag = {"names": ["projects/p/locations/us/taxonomies/1/policyTags/9"]}

    def adds(f: list[dict[str, Any]]) -> None:
        f.append({"name": "dob", "type": "DATE", "policyTags": tag})
        f.append({"name": "contact", "type": "RECORD",
                  "fields": [{"name": "phone", "type": "STRING", "policyTags": tag}]})  # fmt: skip

    result = compare(schema(BASE), schema(edit(adds)), "nba.t")
    assert result.violations == []
    assert [s.column for s in result.allowed] == ["dob", "contact"]
    tagged = [n for n in result.notes if "policy tag" in n]
    assert len(tagged) == 2
    assert "dob" in tagged[0] and "contact.phone" in tagged[1]
    assert all("bq update" in n for n in tagged)


def test_description_change_is_allowed_with_ddl() -> None:
    new = edit(lambda f: col(f, "points").update(description="Points scored"))
    assert violations(new) == []
    assert allowed_sql(new) == [
        "ALTER TABLE `nba.t` ALTER COLUMN `points` SET OPTIONS (description = 'Points scored')"
    ]


def test_partition_and_cluster_from_table_resources() -> None:
    def table(part: str | None, cluster: list[str]) -> Any:
        extra: dict[str, Any] = {"clustering": {"fields": cluster}}
        if part:
            extra["timePartitioning"] = {"type": "DAY", "field": part}
        return schema(BASE, extra)

    same = compare(table("game_date", ["game_id"]), table("game_date", ["game_id"]), "t")
    assert same.violations == []
    # Column names ignore case in BigQuery, for the partition column as for clustering.
    case = compare(table("game_date", ["game_id"]), table("GAME_DATE", ["Game_Id"]), "t")
    assert case.violations == []
    part = compare(table("game_date", ["game_id"]), table(None, ["game_id"]), "t")
    assert [v.rule for v in part.violations] == ["PARTITION_SAME"]
    clus = compare(table("game_date", ["game_id"]), table("game_date", ["code"]), "t")
    assert [v.rule for v in clus.violations] == ["CLUSTER_SAME"]
    # A bare column list says nothing about layout: no comparison.
    assert compare(schema(BASE), table(None, []), "t").violations == []


def test_range_partitioning_is_compared() -> None:
    # rangePartitioning was not read: a changed range passed, and a switch to time
    # partitioning read as "none -> DAY on ...".
    def ranged(interval: str) -> Any:
        bounds = {"start": "0", "end": "100", "interval": interval}
        return schema(BASE, {"rangePartitioning": {"field": "points", "range": bounds}})

    assert compare(ranged("10"), ranged("10"), "t").violations == []
    (changed,) = compare(ranged("10"), ranged("5"), "t").violations
    assert changed.rule == "PARTITION_SAME"
    assert changed.message == (
        "table t partitioning RANGE on points [0, 100) by 10 -> RANGE on points [0, 100) by 5"
    )
    timed = schema(BASE, {"timePartitioning": {"type": "DAY", "field": "game_date"}})
    (switched,) = compare(ranged("10"), timed, "t").violations
    assert switched.message.endswith("RANGE on points [0, 100) by 10 -> DAY on game_date")


def test_table_no_delete_and_new_table() -> None:
    assert [v.rule for v in compare(schema(BASE), None, "t").violations] == ["TABLE_NO_DELETE"]
    required_new = compare(None, schema(BASE), "t")
    assert required_new.violations == [] and not required_new.changed


# -- policy: use, except, waivers -----------------------------------------------------------


def judged(new: list[dict[str, Any]], config: RuleConfig) -> Any:
    return judge(compare(schema(BASE), schema(new), "nba.t"), config, path="t.json", today=TODAY)


WIDEN = edit(lambda f: col(f, "points").update(type="FLOAT64"))


def test_unwaived_breaking_change_is_an_error_and_blocks() -> None:
    out = judged(WIDEN, RuleConfig())
    assert out.failed and [f.rule for f in out.findings] == ["FIELD_SAME_TYPE"]
    assert out.plan == [] and [v.rule for v in out.blocked] == ["FIELD_SAME_TYPE"]
    assert out.findings[0].format().startswith("t.json:13: FIELD_SAME_TYPE column points")


def test_except_by_id_and_by_category() -> None:
    out = judged(WIDEN, RuleConfig.from_mapping({"except": ["FIELD_SAME_TYPE"]}))
    assert not out.failed and out.findings == []
    assert [s.kind for s in out.plan] == ["set_data_type"]
    bigquery_only = RuleConfig.from_mapping({"use": ["BIGQUERY"]})
    assert not judged(WIDEN, bigquery_only).failed
    narrowing = edit(lambda f: col(f, "points").update(type="STRING"))
    assert judged(narrowing, bigquery_only).failed


def waiver(expires: str, column: str | None = "points") -> RuleConfig:
    entry: dict[str, Any] = {"rule": "FIELD_SAME_TYPE", "table": "nba.t", "reason": "JIRA-12",
                             "expires": expires}  # fmt: skip
    if column:
        entry["column"] = column
    return RuleConfig.from_mapping({"waivers": [entry]})


def test_waiver_turns_the_error_into_a_warning_and_adds_the_ddl() -> None:
    out = judged(WIDEN, waiver("2026-11-25"))  # the expiry day itself is still valid
    assert not out.failed
    (finding,) = out.findings
    assert finding.severity is Severity.WARNING and "waived until 2026-11-25: JIRA-12" in (
        finding.message
    )
    assert [s.sql for s in out.plan] == [
        "ALTER TABLE `nba.t` ALTER COLUMN `points` SET DATA TYPE FLOAT64"
    ]
    assert not judged(WIDEN, waiver("2027-01-01", column=None)).failed


def test_expired_waiver_fails() -> None:
    out = judged(WIDEN, waiver("2026-11-24"))
    assert out.failed
    assert "waiver expired on 2026-11-24" in out.findings[0].message


def test_a_renewed_waiver_beside_the_expired_one_applies() -> None:
    """The first matching waiver decided: a renewal appended after the expired entry (the
    usual edit) still failed the hook with "waiver expired ... renew or remove it"."""
    old, new = (waiver(day).waivers[0] for day in ("2026-11-24", "2027-01-31"))
    for order in ((old, new), (new, old)):
        out = judged(WIDEN, RuleConfig(waivers=order))
        assert not out.failed and "waived until 2027-01-31" in out.findings[0].message
    expired = judged(WIDEN, RuleConfig(waivers=(old, waiver("2026-10-01").waivers[0])))
    assert expired.failed and "waiver expired on 2026-11-24" in expired.findings[0].message


def test_waiver_for_another_column_does_not_apply() -> None:
    assert judged(WIDEN, waiver("2027-01-01", column="minutes")).failed


def test_waived_change_without_ddl_is_unappliable() -> None:
    tighten = edit(lambda f: col(f, "points").update(mode="REQUIRED"))
    config = RuleConfig.from_mapping(
        {"waivers": [{"rule": "MODE_NO_TIGHTEN", "table": "nba.t", "column": "points",
                      "reason": "backfilled", "expires": dt.date(2027, 1, 1)}]}
    )  # fmt: skip
    out = judged(tighten, config)
    assert not out.failed and out.plan == []
    assert [v.rule for v in out.unappliable] == ["MODE_NO_TIGHTEN"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"excpet": []}, "unknown key 'excpet'"),
        ({"except": ["FIELD_NO_DELTE"]}, "did you mean FIELD_NO_DELETE?"),
        ({"use": ["WIRE"]}, "use"),
        ({"waivers": [{"rule": "FIELD_SAME_TYPE", "table": "t", "reason": "x",
                       "expires": "2026-01-01"}]}, "must be dataset.table"),
        ({"waivers": [{"rule": "FIELD_SAME_TYPE", "table": "d.t", "reason": "",
                       "expires": "2026-01-01"}]}, "needs a reason"),
        ({"waivers": [{"rule": "FIELD_SAME_TYPE", "table": "d.t", "reason": "x",
                       "expires": "soon"}]}, "must be a date"),
        ({"waivers": [{"rule": "FIELD_SAME_TYPE", "table": "d.t", "reason": "x"}]},
         "must be a date"),
    ],
)  # fmt: skip
def test_invalid_config_is_a_config_error(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        RuleConfig.from_mapping(section)


def test_load_rule_config_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "schema_rules:\n  except: [CLUSTER_SAME]\n  waivers:\n"
        "    - {rule: FIELD_NO_DELETE, table: a.b, reason: gone, expires: 2027-01-31}\n"
    )
    config = load_rule_config(str(path))
    assert config.except_ids == {"CLUSTER_SAME"}
    assert config.waivers[0].expires == dt.date(2027, 1, 31)
    path.write_text("schema_rules: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_rule_config(str(path))
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_rule_config(str(tmp_path / "missing.yaml"))


def test_repository_config_section_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load_rule_config(str(root / "nbaops.yaml"))
    assert set(config.use) == {"BIGQUERY", "CONSUMER"}


def test_every_rule_has_a_category_and_a_fix() -> None:
    for rule in BREAKING_RULES.values():
        assert rule.categories and rule.fix and rule.summary


# -- realistic histories in git -------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    (root / "schemas" / "nba_analytics").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write(root, "nba_analytics/player_game_summary.json", BASE)
    (root / "schemas" / "tables.yaml").write_text(
        "nba_analytics.player_game_summary: {partition: game_date, cluster: [game_id]}\n"
    )
    (root / "schemas" / "config.schema.json").write_text('{"type": "object"}')
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    monkeypatch.chdir(root)
    return root


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True)


def write(root: Path, rel: str, fields: Any) -> None:
    (root / "schemas" / rel).write_text(json.dumps(fields, indent=2) + "\n")


def history(root: Path, change: Callable[[list[dict[str, Any]]], None]) -> Any:
    write(root, "nba_analytics/player_game_summary.json", edit(change))
    return check_against_ref([], ref="HEAD", start=root, today=TODAY)


def rules_of(result: Any) -> list[str]:
    return sorted(f.rule for f in result.all_findings if f.is_error)


def test_history_rename(repo: Path) -> None:
    result = history(repo, lambda f: col(f, "minutes").update(name="minutes_played"))
    assert rules_of(result) == ["FIELD_NO_RENAME"]
    lines = render_lines(result)
    assert lines[0].startswith("schemas/nba_analytics/player_game_summary.json:")
    assert "FIELD_NO_RENAME column minutes renamed to minutes_played" in lines[0]


def test_history_widen_prints_ddl_when_waived(repo: Path) -> None:
    (repo / "nbaops.yaml").write_text(
        "schema_rules:\n  waivers:\n    - {rule: FIELD_SAME_TYPE, table: "
        "nba_analytics.player_game_summary, column: points, reason: fractional points, "
        "expires: 2027-06-30}\n"
    )
    write(repo, "nba_analytics/player_game_summary.json",
          edit(lambda f: col(f, "points").update(type="NUMERIC")))  # fmt: skip
    result = check_against_ref([], config=load_rule_config(None), today=TODAY)
    assert not result.failed
    assert (
        "ALTER TABLE `nba_analytics.player_game_summary` ALTER COLUMN `points` "
        "SET DATA TYPE NUMERIC;" in render_lines(result)
    )


def test_history_relax_is_allowed_with_ddl(repo: Path) -> None:
    result = history(repo, lambda f: col(f, "minutes").update(mode="NULLABLE"))
    assert not result.failed
    assert [s.kind for s in result.plan] == ["drop_not_null"]


def test_history_tighten_and_drop(repo: Path) -> None:
    def change(f: list[dict[str, Any]]) -> None:
        col(f, "points").update(mode="REQUIRED")
        f.remove(col(f, "tags"))

    assert rules_of(history(repo, change)) == ["FIELD_NO_DELETE", "MODE_NO_TIGHTEN"]


def test_history_only_the_given_files_are_compared(repo: Path) -> None:
    write(repo, "nba_analytics/player_game_summary.json", edit(lambda f: f.pop()))
    assert check_against_ref(["schemas/config.schema.json"], today=TODAY).all_findings == []


def test_history_table_removed_and_layout_changed(repo: Path) -> None:
    (repo / "schemas" / "nba_analytics" / "player_game_summary.json").unlink()
    result = check_against_ref(["schemas/tables.yaml"], today=TODAY)
    # its catalog entry stayed behind, which the catalog refuses
    assert rules_of(result) == ["LAYOUT_INVALID", "TABLE_NO_DELETE"]
    git(repo, "checkout", "-q", "--", "schemas")
    (repo / "schemas" / "tables.yaml").write_text(
        "nba_analytics.player_game_summary: {partition: game_date, cluster: [code]}\n"
    )
    assert rules_of(check_against_ref(["schemas/tables.yaml"], today=TODAY)) == ["CLUSTER_SAME"]


def test_history_a_table_resource_moved_to_another_file_is_the_same_table(repo: Path) -> None:
    """A table resource is the table its tableReference names, whatever its path: moved
    (git mv) it was TABLE_NO_DELETE at the old path and a new table, compared with nothing,
    at the new one, so a column dropped in the move passed."""
    resource = {
        "tableReference": {"projectId": "p", "datasetId": "nba_raw", "tableId": "games"},
        "schema": {"fields": BASE},
    }
    write(repo, "nba_analytics/games_resource.json", resource)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a table resource")
    (repo / "schemas" / "raw").mkdir()
    git(repo, "mv", "schemas/nba_analytics/games_resource.json", "schemas/raw/games.json")
    moved = os.path.join("schemas", "raw", "games.json")
    for given in ([], ["schemas/raw/games.json"]):
        result = check_against_ref(given, today=TODAY)
        assert result.all_findings == []
        assert [(t.table, t.path) for t in result.tables if t.comparison.changed] == []
    resource["schema"] = {"fields": edit(lambda f: f.remove(col(f, "tags")))}
    write(repo, "raw/games.json", resource)
    result = check_against_ref(["schemas/raw/games.json"], today=TODAY)
    assert [(f.rule, f.path, f.column) for f in result.all_findings] == [
        ("FIELD_NO_DELETE", moved, "tags")
    ]
    # A file whose tableReference now names another table no longer describes the first:
    # it was compared as the new table with the old one's columns, the removal unreported.
    git(repo, "rm", "-q", "-f", "schemas/raw/games.json")
    git(repo, "checkout", "-q", "HEAD", "--", "schemas")
    retargeted = {**resource, "schema": {"fields": BASE}}
    retargeted["tableReference"] = {**resource["tableReference"], "tableId": "games_v2"}
    write(repo, "nba_analytics/games_resource.json", retargeted)
    result = check_against_ref([], today=TODAY)
    assert [(f.rule, f.table) for f in result.all_findings] == [
        ("TABLE_NO_DELETE", "nba_raw.games")
    ]


def test_history_layout_findings_point_at_the_catalog_entry(repo: Path) -> None:
    # The change is in tables.yaml, not in the table's JSON: that is where the finding points
    # (an editor jumping to player_game_summary.json:1 would find nothing to undo).
    (repo / "schemas" / "tables.yaml").write_text(
        "# catalog\n\nnba_analytics.player_game_summary: "
        "{partition: game_date, partition_type: MONTH, cluster: []}\n"
    )
    findings = check_against_ref([], today=TODAY).all_findings
    found = sorted((f.rule, f.path, f.line) for f in findings)
    catalog = os.path.join("schemas", "tables.yaml")
    assert found == [("CLUSTER_SAME", catalog, 3), ("PARTITION_SAME", catalog, 3)]
    # Deleting the catalog removes every table's partitioning and clustering.
    (repo / "schemas" / "tables.yaml").unlink()
    findings = check_against_ref([], today=TODAY).all_findings
    assert sorted((f.rule, f.path, f.line) for f in findings) == [
        ("CLUSTER_SAME", catalog, 1),
        ("PARTITION_SAME", catalog, 1),
    ]
    # A layout the schema file states itself is reported in that file.
    git(repo, "checkout", "-q", "--", "schemas")
    write(repo, "nba_analytics/player_game_summary.json", {
        "schema": {"fields": edit(lambda f: None)},
        "timePartitioning": {"type": "DAY", "field": "created_at"},
        "clustering": {"fields": ["game_id"]},
    })  # fmt: skip
    found = sorted((f.rule, f.path) for f in check_against_ref([], today=TODAY).all_findings)
    assert found == [
        ("PARTITION_SAME", os.path.join("schemas", "nba_analytics", "player_game_summary.json"))
    ]


def test_history_a_new_schema_file_with_a_space_in_its_name(repo: Path) -> None:
    # git echoes a missing path back ("HEAD:schemas/my games.json missing"): the space
    # made that line look like an object header and the hook crash.
    write(repo, "nba_analytics/my games.json", BASE)
    assert check_against_ref([], today=TODAY).all_findings == []


def test_history_a_symlinked_schema_is_compared_with_its_target(repo: Path) -> None:
    shared = repo / "shared"
    shared.mkdir()
    (shared / "summary.json").write_text(json.dumps(BASE))
    link = repo / "schemas" / "nba_analytics" / "linked.json"
    link.symlink_to(Path("..", "..", "shared", "summary.json"))
    (repo / "schemas" / "nba_analytics" / "outside.json").symlink_to("/nonexistent/x.json")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "linked schema")
    (repo / "schemas" / "nba_analytics" / "outside.json").unlink()
    # At HEAD the link's blob is its text ("../../shared/summary.json"), which does not
    # parse: the table was skipped as "broken at the base", so a dropped column passed.
    (shared / "summary.json").write_text(json.dumps(edit(lambda f: f.remove(col(f, "code")))))
    assert rules_of(check_against_ref([], today=TODAY)) == ["FIELD_NO_DELETE"]


def test_history_against_an_older_commit(repo: Path) -> None:
    history(repo, lambda f: f.remove(col(f, "code")))
    git(repo, "commit", "-qam", "drop code")
    assert check_against_ref([], ref="HEAD", today=TODAY).all_findings == []
    assert rules_of(check_against_ref([], ref="HEAD~1", today=TODAY)) == ["FIELD_NO_DELETE"]


def test_history_new_table_and_broken_file(repo: Path) -> None:
    (repo / "schemas" / "nba_raw").mkdir()
    write(repo, "nba_raw/games.json", [{"name": "id", "type": "STRING", "mode": "REQUIRED"}])
    assert check_against_ref([], today=TODAY).all_findings == []
    (repo / "schemas" / "nba_raw" / "games.json").write_text("[{")
    assert rules_of(check_against_ref([], today=TODAY)) == ["JSON_SYNTAX"]


def test_unknown_ref_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match="unknown git ref 'nope'"):
        check_against_ref([], ref="nope")


def test_tables_that_could_not_be_compared_the_same_way_are_one_line() -> None:
    """schema-diff --live without credentials printed ten identical lines, then a summary
    '0 table(s) compared' that did not say ten could not be."""
    from nbaops.bqschema.diff import SchemaDiffReport
    from nbaops.cli.plain import PlainConsole

    why = "BigQuery client: no usable credentials (DefaultCredentialsError: not found)"
    report = SchemaDiffReport("schema-diff", against="live")
    report.raised = {
        "nba_raw.games": WarehouseError(why),
        "nba_ops.deploys": WarehouseError(why),
        "nba_x.t": WarehouseError("403 Forbidden"),
    }
    console = PlainConsole()
    with console.capture() as captured:
        report.render(console)
    assert captured.get().splitlines() == [
        "schema-diff (against live)",
        "nba_raw.games, nba_ops.deploys: could not compare: no usable Google credentials: run "
        "`gcloud auth application-default login` (Workload Identity in CI)",
        "nba_x.t: could not compare: 403 Forbidden",
        "ERROR 0 table(s) compared, 0 unchanged, 3 could not be compared",
    ]


def test_a_dataset_whose_tables_could_not_be_listed_is_named_as_a_dataset() -> None:
    """schema-diff --live keys a dataset it could not list (for the tables no file
    declares) by the dataset's name: the output read 'nba_ops: could not compare: ...' and
    counted it among the tables that 'could not be compared', as if nba_ops were a table."""
    from nbaops.bqschema.diff import SchemaDiffReport
    from nbaops.cli.plain import PlainConsole

    why = "BigQuery list tables of p.nba_ops: permission denied (HTTP 403): no"
    report = SchemaDiffReport("schema-diff", against="live")
    report.raised = {name: WarehouseError(why) for name in ("nba_ops", "nba_raw", "nba_x.t")}
    console = PlainConsole()
    with console.capture() as captured:
        report.render(console)
    assert captured.get().splitlines()[1:] == [
        f"dataset nba_ops, nba_raw: tables could not be listed: {why}",
        f"nba_x.t: could not compare: {why}",
        "ERROR 0 table(s) compared, 0 unchanged, 1 could not be compared, "
        "2 dataset(s) could not be listed",
    ]


def test_a_catalog_entry_naming_columns_its_table_lacks_is_invalid_new_table_included(
    repo: Path,
) -> None:
    """A new table's tables.yaml entry with a missing partition or cluster column passed
    every hook: the lint checks a table resource's own layout, the breaking rules compared
    a new table with nothing. BigQuery would refuse to create it."""
    write(repo, "nba_analytics/arenas.json", BASE)
    with (repo / "schemas" / "tables.yaml").open("a") as catalog:
        catalog.write("nba_analytics.arenas: {partition: nosuch, cluster: [game_id, minutes]}\n")
    result = check_against_ref(
        ["schemas/nba_analytics/arenas.json", "schemas/tables.yaml"], today=TODAY
    )
    found = sorted((f.rule, f.line, f.message) for f in result.all_findings if f.is_error)
    assert found == [
        (
            "CLUSTER_INVALID", 2,
            "nba_analytics.arenas: clustering column 'minutes' is FLOAT64, which BigQuery "
            "cannot cluster on",
        ),
        (
            "PARTITION_INVALID", 2,
            "nba_analytics.arenas: partition column 'nosuch' is not a top-level column",
        ),
    ]  # fmt: skip
    assert result.failed


def test_a_catalog_entry_for_a_table_without_a_schema_file_is_invalid(repo: Path) -> None:
    """An entry naming a table that has no schema file passed bq-schema-breaking (a new
    table compared with nothing), yet the catalog refuses it on the next run of any task."""
    with (repo / "schemas" / "tables.yaml").open("a") as catalog:
        catalog.write("nba_analytics.arenas: {partition: game_date}\n")
    result = check_against_ref(["schemas/tables.yaml"], today=TODAY)
    found = [(f.rule, f.path, f.line, f.message) for f in result.all_findings]
    assert found == [
        (
            "LAYOUT_INVALID", os.path.join("schemas", "tables.yaml"), 2,
            "nba_analytics.arenas: no schema file schemas/nba_analytics/arenas.json",
        )
    ]  # fmt: skip
    assert result.failed
    write(repo, "nba_analytics/arenas.json", BASE)  # with its file, the entry is fine
    assert check_against_ref(["schemas/tables.yaml"], today=TODAY).all_findings == []
    # as it is with a table resource elsewhere whose tableReference names the table
    (repo / "schemas" / "nba_analytics" / "arenas.json").unlink()
    write(repo, "nba_analytics/venues.json", {
        "tableReference": {"datasetId": "nba_analytics", "tableId": "arenas"},
        "schema": {"fields": BASE},
    })  # fmt: skip
    assert check_against_ref(["schemas/tables.yaml"], today=TODAY).all_findings == []


def test_a_catalog_entry_partitioning_a_date_column_by_hour_is_invalid(repo: Path) -> None:
    """BigQuery partitions a DATE column by DAY, MONTH or YEAR: `partition_type: HOUR` on
    game_date passed every hook, and the adapter's table creation would fail in prod."""
    write(repo, "nba_analytics/arenas.json", BASE)
    with (repo / "schemas" / "tables.yaml").open("a") as catalog:
        catalog.write("nba_analytics.arenas: {partition: game_date, partition_type: HOUR}\n")
    result = check_against_ref(
        ["schemas/nba_analytics/arenas.json", "schemas/tables.yaml"], today=TODAY
    )
    assert [(f.rule, f.message) for f in result.all_findings if f.is_error] == [
        (
            "PARTITION_INVALID",
            "nba_analytics.arenas: partition column 'game_date' is a DATE: partition it by "
            "DAY, MONTH or YEAR, not HOUR",
        )
    ]


@pytest.mark.parametrize(
    ("file", "live"),
    [
        ({"precision": "10"}, {"precision": "10", "scale": "0"}),  # NUMERIC(P) = (P, 0)
        ({"precision": "38", "scale": "9"}, {}),  # NUMERIC's own parameters
    ],
)
def test_the_same_numeric_type_spelled_two_ways_is_no_change(
    file: dict[str, str], live: dict[str, str]
) -> None:
    """The local warehouse reads NUMERIC(10) back as DECIMAL(10, 0) and NUMERIC(38, 9) as
    plain NUMERIC: every live diff proposed SET DATA TYPE and schema-apply ran it on every
    call, though docs/standin.md promises a clean read-back."""
    from nbaops.bqschema.diff import live_schema
    from nbaops.table_catalog import duckdb_type, duckdb_type_to_bq, with_unheld_attributes

    declared = schema([{"name": "n", "type": "NUMERIC", **file}])
    reflected = [duckdb_type_to_bq("n", duckdb_type(declared.fields[0]))]
    read_back = live_schema(with_unheld_attributes(reflected, declared.fields), "nba.t")
    for old, new in ((read_back, declared), (declared, read_back)):
        assert not compare(old, new, "nba.t").changed
    spelled = schema([{"name": "n", "type": "NUMERIC", **live}])
    assert not compare(declared, spelled, "nba.t").changed
    wider = schema([{"name": "n", "type": "NUMERIC", "precision": "12"}])
    ten = schema([{"name": "n", "type": "NUMERIC", "precision": "10", "scale": "0"}])
    assert [s.kind for s in compare(ten, wider, "nba.t").allowed] == ["set_data_type"]


def test_parameters_on_a_bignumeric_without_any_narrow_it() -> None:
    """A BIGNUMERIC without parameters holds up to 5.78e38 (76.76 digits); BIGNUMERIC(76,
    38), the widest parameters, stops below 10^38 (TableFieldSchema.precision: [-10^(P-S)
    + 10^-S, 10^(P-S) - 10^-S]). Adding them was a widening with SET DATA TYPE to run."""
    bare = schema([{"name": "amount", "type": "BIGNUMERIC"}])
    widest = schema([{"name": "amount", "type": "BIGNUMERIC", "precision": "76", "scale": "38"}])
    narrowed = compare(bare, widest, "nba.t")
    assert [v.rule for v in narrowed.violations] == ["TYPE_PARAMS_NO_NARROW"]
    assert "(76.76, 38) -> (76, 38)" in narrowed.violations[0].message
    assert narrowed.allowed == []
    widened = compare(widest, bare, "nba.t")
    assert widened.violations == []
    assert [s.sql for s in widened.allowed] == [
        "ALTER TABLE `nba.t` ALTER COLUMN `amount` SET DATA TYPE BIGNUMERIC"
    ]


def test_bignumeric_widens_only_to_float64() -> None:
    old = schema([{"name": "amount", "type": "BIGNUMERIC"}])
    to_float = compare(old, schema([{"name": "amount", "type": "FLOAT64"}]), "nba.t")
    assert sorted(v.rule for v in to_float.violations) == ["FIELD_SAME_TYPE"]
    to_numeric = compare(old, schema([{"name": "amount", "type": "NUMERIC"}]), "nba.t")
    assert sorted(v.rule for v in to_numeric.violations) == [
        "FIELD_COERCIBLE_TYPE",
        "FIELD_SAME_TYPE",
    ]


def test_a_non_coercible_change_to_a_bounded_string_is_not_also_a_narrowing() -> None:
    new = edit(lambda f: col(f, "points").update(type="STRING", maxLength="5"))
    assert violations(new) == ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]


def test_a_nested_widening_gets_no_ddl() -> None:
    old = schema([{"name": "shot", "type": "RECORD", "fields": [{"name": "n", "type": "INT64"}]}])
    new = schema([{"name": "shot", "type": "RECORD", "fields": [{"name": "n", "type": "FLOAT64"}]}])
    (v,) = compare(old, new, "nba.t").violations
    assert (v.rule, v.column, v.ddl) == ("FIELD_SAME_TYPE", "shot.n", None)


@pytest.mark.parametrize(
    "added",
    [
        {"name": "code2", "type": "STRING", "maxLength": "5"},  # other type parameters
        {"name": "code2", "type": "STRING", "maxLength": "10", "mode": "REPEATED"},  # other mode
    ],
)
def test_a_column_of_another_shape_at_the_same_position_is_not_a_rename(
    added: dict[str, Any],
) -> None:
    new = edit(lambda f: f.__setitem__(6, added))  # `code` STRING(10) NULLABLE replaced
    assert violations(new) == ["FIELD_NO_DELETE"]


def test_one_added_column_is_the_rename_of_at_most_one_removed_column() -> None:
    old = edit(lambda f: None)
    old[0].update(type="INT64", mode="NULLABLE", description="Points")  # game_id
    old[2]["description"] = "Points"  # points
    new = json.loads(json.dumps(old))
    new.pop(2)
    new.pop(0)
    new.append({"name": "pts", "type": "INT64", "description": "Points"})
    rules = sorted(v.rule for v in compare(schema(old), schema(new), "nba.t").violations)
    assert rules == ["FIELD_NO_DELETE", "FIELD_NO_RENAME"]


def test_one_removed_column_is_renamed_to_at_most_one_added_column() -> None:
    old = edit(lambda f: col(f, "points").update(description="Points"))
    pts = {"name": "pts", "type": "INTEGER", "mode": "NULLABLE", "description": "Points"}
    new = json.loads(json.dumps(old))
    new[2] = pts  # same position and description
    new.append({**pts, "name": "pts2"})  # same description
    result = compare(schema(old), schema(new), "nba.t")
    assert [(v.rule, v.also) for v in result.violations] == [("FIELD_NO_RENAME", ("pts",))]
    assert [s.kind for s in result.allowed] == ["add_column"]


def test_an_empty_description_added_is_no_change() -> None:
    new = edit(lambda f: col(f, "points").update(description=""))
    assert violations(new) == [] and allowed_sql(new) == []


def test_layout_is_not_compared_when_only_the_new_side_declares_it() -> None:
    declared = schema(BASE, {"timePartitioning": {"type": "DAY", "field": "game_date"},
                             "clustering": {"fields": ["game_id"]}})  # fmt: skip
    assert compare(schema(BASE), declared, "t").violations == []
    assert compare(declared, schema(BASE), "t").violations == []


def test_reordered_clustering_columns_are_a_clustering_change() -> None:
    def table(cluster: list[str]) -> Any:
        return schema(BASE, {"clustering": {"fields": cluster}})

    result = compare(table(["game_id", "code"]), table(["code", "game_id"]), "t")
    assert [v.rule for v in result.violations] == ["CLUSTER_SAME"]


def test_a_rule_of_both_categories_stays_on_when_only_one_category_is_used() -> None:
    tighten = edit(lambda f: col(f, "points").update(mode="REQUIRED"))  # MODE_NO_TIGHTEN: both
    assert judged(tighten, RuleConfig.from_mapping({"use": ["BIGQUERY"]})).failed
    assert judged(tighten, RuleConfig.from_mapping({"use": ["CONSUMER"]})).failed


def _waiver(**entry: Any) -> RuleConfig:
    base = {"rule": "FIELD_SAME_TYPE", "table": "nba.t", "column": "points",
            "reason": "JIRA-12", "expires": "2027-01-01"}  # fmt: skip
    return RuleConfig.from_mapping({"waivers": [{**base, **entry}]})


def test_a_waiver_applies_only_to_its_own_rule() -> None:
    tighten = edit(lambda f: col(f, "points").update(mode="REQUIRED"))
    assert judged(tighten, _waiver()).failed  # a FIELD_SAME_TYPE waiver, a MODE_NO_TIGHTEN change


def test_waiver_table_and_column_match_ignoring_case() -> None:
    widen = edit(lambda f: col(f, "points").update(type="FLOAT64"))
    assert not judged(widen, _waiver(table="NBA.T", column="Points")).failed


def test_a_waiver_naming_the_new_name_of_a_rename_applies() -> None:
    renamed = edit(lambda f: col(f, "points").update(name="pts"))
    out = judged(renamed, _waiver(rule="FIELD_NO_RENAME", column="pts"))
    assert not out.failed
    assert [s.kind for s in out.plan] == ["rename_column"]


def test_a_waiver_whose_reason_is_blank_is_a_config_error() -> None:
    from nbaops.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a reason"):
        _waiver(reason="   ")


def test_the_plan_renames_first_relaxes_before_retyping_and_drops_last() -> None:
    def change(f: list[dict[str, Any]]) -> None:
        col(f, "code")["name"] = "code2"  # rename (same position)
        col(f, "points")["type"] = "FLOAT64"  # widen
        col(f, "minutes")["mode"] = "NULLABLE"  # relax
        f.remove(col(f, "shot"))  # drop
        f.append({"name": "venue", "type": "STRING"})  # add

    config = RuleConfig.from_mapping(
        {"except": ["FIELD_NO_RENAME", "FIELD_SAME_TYPE", "FIELD_NO_DELETE"]}
    )
    out = judged(edit(change), config)
    assert not out.failed
    assert [s.kind for s in out.plan] == [
        "rename_column", "drop_not_null", "set_data_type", "add_column", "drop_column",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "rule"),
    [
        ({}, {"collation": "und:ci"}, "COLLATION_SAME"),
        ({"collation": "und:ci"}, {}, "COLLATION_SAME"),
        ({"collation": "und:ci"}, {"collation": ""}, "COLLATION_SAME"),
        ({}, {"roundingMode": "ROUND_HALF_EVEN"}, "ROUNDING_MODE_SAME"),
        (
            {"roundingMode": "ROUND_HALF_EVEN"},
            {"roundingMode": "ROUND_HALF_AWAY_FROM_ZERO"},
            "ROUNDING_MODE_SAME",
        ),
    ],
)
def test_collation_and_rounding_mode_changes_are_breaking(
    before: dict[str, Any], after: dict[str, Any], rule: str
) -> None:
    # the schema model had neither attribute: a changed collation (joins and GROUP BY on
    # the column compare differently) or rounding mode was no difference at all
    column = "code" if rule == "COLLATION_SAME" else "price"
    old = edit(lambda fs: col(fs, column).update(before))
    new = edit(lambda fs: col(fs, column).update(after))
    found = compare(schema(old), schema(new), "nba.t").violations
    assert [(v.rule, v.column) for v in found] == [(rule, column)]
    assert BREAKING_RULES[rule].severity is Severity.ERROR


def test_an_empty_collation_is_the_unset_one_and_a_nested_change_is_found() -> None:
    assert violations(edit(lambda fs: col(fs, "code").update(collation=""))) == []
    new = edit(lambda fs: col(fs, "shot")["fields"][0].update(collation="und:ci"))
    found = compare(schema(BASE), schema(new), "nba.t").violations
    assert [(v.rule, v.column) for v in found] == [("COLLATION_SAME", "shot.zone")]


def test_collation_and_rounding_mode_are_parsed_and_written_back() -> None:
    fields = edit(lambda fs: col(fs, "code").update(collation="und:ci"))
    col(fields, "price")["roundingMode"] = "ROUND_HALF_EVEN"
    parsed = schema(fields)
    by_name = parsed.field_map()
    assert by_name["code"].collation == "und:ci" and by_name["code"].collation is not None
    assert by_name["price"].rounding_mode == "ROUND_HALF_EVEN"
    out = {f["name"]: f for f in parsed.to_json()}
    assert out["code"]["collation"] == "und:ci"
    assert out["price"]["roundingMode"] == "ROUND_HALF_EVEN"


def test_a_widened_collated_string_keeps_its_collation_in_set_data_type() -> None:
    """SET DATA TYPE takes a column_schema whose annotations are the column's updated
    ones (ZetaSQL's ResolveAlterColumnSetDataTypeAction; only OPTIONS and NOT NULL are
    refused): STRING(10) alone named a case-sensitive column for a case-insensitive one."""

    def widened(length: str) -> Callable[[list[dict[str, Any]]], None]:
        def change(f: list[dict[str, Any]]) -> None:
            f.append({"name": "team", "type": "STRING", "maxLength": length, "collation": "und:ci"})
            f.append({"name": "tags", "type": "STRING", "mode": "REPEATED", "maxLength": length,
                      "collation": "und:ci"})  # fmt: skip

        return change

    result = compare(schema(edit(widened("8"))), schema(edit(widened("10"))), "nba.t")
    assert result.violations == []
    assert [s.sql for s in result.allowed] == [
        "ALTER TABLE `nba.t` ALTER COLUMN `team` SET DATA TYPE STRING(10) COLLATE 'und:ci'"
    ]
    # ARRAY<STRING COLLATE ...> is not built: a note, as for an added column
    assert any("tags" in n and "bq update" in n for n in result.notes)


def test_rounding_mode_unspecified_is_the_unset_rounding_mode() -> None:
    """TableFieldSchema.roundingMode's enum has ROUNDING_MODE_UNSPECIFIED ("Unspecified
    will default to using ROUND_HALF_AWAY_FROM_ZERO", bigquery v2 discovery document,
    RoundingMode): a file or a live table stating it sets no rounding mode. It read as a
    mode of its own: ROUNDING_MODE_SAME against an unset column, and an added column's
    DDL carried OPTIONS (rounding_mode='ROUNDING_MODE_UNSPECIFIED'), which DDL refuses."""
    unspecified = {"roundingMode": "ROUNDING_MODE_UNSPECIFIED"}
    stated = edit(lambda fs: col(fs, "price").update(unspecified))
    assert schema(stated).field_map()["price"].rounding_mode is None
    assert compare(schema(BASE), schema(stated), "nba.t").violations == []
    assert compare(schema(stated), schema(BASE), "nba.t").violations == []
    even = edit(lambda fs: col(fs, "price").update(roundingMode="ROUND_HALF_EVEN"))
    found = compare(schema(stated), schema(even), "nba.t").violations
    assert [(v.rule, v.column) for v in found] == [("ROUNDING_MODE_SAME", "price")]

    def adds(f: list[dict[str, Any]]) -> None:
        f.append({"name": "stake", "type": "NUMERIC", **unspecified})

    result = compare(schema(BASE), schema(edit(adds)), "nba.t")
    assert [s.sql for s in result.allowed] == [
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `stake` NUMERIC"
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, {"roundingMode": "ROUND_HALF_AWAY_FROM_ZERO"}),
        ({"roundingMode": "ROUND_HALF_AWAY_FROM_ZERO"}, {}),
        (
            {"roundingMode": "ROUNDING_MODE_UNSPECIFIED"},
            {"roundingMode": "ROUND_HALF_AWAY_FROM_ZERO"},
        ),
    ],
)
def test_stating_or_dropping_the_default_rounding_mode_is_a_note_not_a_break(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    """An unset roundingMode rounds ROUND_HALF_AWAY_FROM_ZERO ("Unspecified will default to
    using ROUND_HALF_AWAY_FROM_ZERO", BigQuery REST reference, RoundingMode): writing that
    mode out, or removing it, leaves every stored and future value rounded the same way.
    It was ROUNDING_MODE_SAME, an error, in either direction."""
    old = edit(lambda fs: col(fs, "price").update(before))
    new = edit(lambda fs: col(fs, "price").update(after))
    for a, b in ((old, new), (new, old)):
        result = compare(schema(a), schema(b), "nba.t")
        assert result.violations == [] and result.allowed == []
        assert len(result.notes) == 1 and "price" in result.notes[0]
        assert "ROUND_HALF_AWAY_FROM_ZERO" in result.notes[0]
    # a mode that does round differently is still breaking
    even = edit(lambda fs: col(fs, "price").update(roundingMode="ROUND_HALF_EVEN"))
    assert [v.rule for v in compare(schema(new), schema(even), "nba.t").violations] == [
        "ROUNDING_MODE_SAME"
    ]


def test_an_added_column_keeps_its_collation_and_rounding_mode_in_the_ddl() -> None:
    # ADD COLUMN carried only type, default and description: applied, the new column was
    # case-sensitive and rounded by the table's default, unlike its schema file
    def adds(f: list[dict[str, Any]]) -> None:
        f.append({"name": "team", "type": "STRING", "collation": "und:ci", "description": "T"})
        f.append({"name": "stake", "type": "NUMERIC", "roundingMode": "ROUND_HALF_EVEN"})
        f.append({"name": "aliases", "type": "STRING", "mode": "REPEATED", "collation": "und:ci"})

    result = compare(schema(BASE), schema(edit(adds)), "nba.t")
    assert result.violations == []
    assert [s.sql for s in result.allowed] == [
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `team` STRING COLLATE 'und:ci' "
        "OPTIONS (description='T')",
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `stake` NUMERIC "
        "OPTIONS (rounding_mode='ROUND_HALF_EVEN')",
    ]
    # ARRAY<STRING COLLATE ...> is not built: a note to apply it with bq update, no DDL
    assert any("aliases" in n and "bq update" in n for n in result.notes)


def test_an_unset_rounding_mode_is_the_tables_default_rounding_mode() -> None:
    """A decimal column added without a rounding mode "inherits the table default rounding
    mode" (bigquery v2 discovery document, Table.defaultRoundingMode): the model ignored
    the table's defaultRoundingMode, so in a table defaulting to ROUND_HALF_EVEN stating
    the column's own ROUND_HALF_EVEN was an error, and ROUND_HALF_AWAY_FROM_ZERO (which
    changes how it rounds) only a note."""
    table = {"defaultRoundingMode": "ROUND_HALF_EVEN"}
    assert schema(BASE, table).default_rounding_mode == "ROUND_HALF_EVEN"
    unspecified = {"defaultRoundingMode": "ROUNDING_MODE_UNSPECIFIED"}
    assert schema(BASE, unspecified).default_rounding_mode is None

    def stated(mode: str) -> Any:
        return schema(edit(lambda fs: col(fs, "price").update(roundingMode=mode)), table)

    same = compare(schema(BASE, table), stated("ROUND_HALF_EVEN"), "nba.t")
    assert same.violations == []
    assert any("the same rounding (unset is ROUND_HALF_EVEN)" in n for n in same.notes)
    away = compare(schema(BASE, table), stated("ROUND_HALF_AWAY_FROM_ZERO"), "nba.t")
    assert [(v.rule, v.column) for v in away.violations] == [("ROUNDING_MODE_SAME", "price")]
    dropped = compare(stated("ROUND_HALF_EVEN"), schema(BASE, table), "nba.t")
    assert dropped.violations == []


def test_an_unset_collation_is_the_tables_default_collation() -> None:
    """A STRING column added without a collation "inherits the table default collation"
    (bigquery v2 discovery document, Table.defaultCollation; '' is case-sensitive): in a
    table defaulting to 'und:ci', stating the column's own 'und:ci' was COLLATION_SAME,
    and stating '' (case-sensitive: GROUP BY and joins compare differently) passed."""
    table = {"defaultCollation": "und:ci"}
    assert schema(BASE, table).default_collation == "und:ci"

    def stated(collation: str) -> Any:
        return schema(edit(lambda fs: col(fs, "code").update(collation=collation)), table)

    assert compare(schema(BASE, table), stated("und:ci"), "nba.t").violations == []
    sensitive = compare(schema(BASE, table), stated(""), "nba.t").violations
    assert [(v.rule, v.column) for v in sensitive] == [("COLLATION_SAME", "code")]
    # the message says what the unset side compares as ("'' -> ''" showed no change)
    assert sensitive[0].message == "column code collation unset ('und:ci') -> ''"
    # a new table default changes no existing column (Table.defaultCollation)
    assert compare(schema(BASE), schema(BASE, table), "nba.t").violations == []


def test_a_renamed_column_is_still_compared_with_what_it_was() -> None:
    """A rename is paired by type, mode and parameters only; what else the column lost
    went unreported: `ssn` renamed without its policy tag, or a RECORD renamed while a
    sub-field was dropped and a REQUIRED one added, showed FIELD_NO_RENAME alone, so
    waiving the rename (the documented way to apply it) let the rest through unseen."""

    def untagged(f: list[dict[str, Any]]) -> None:
        ssn = col(f, "ssn")
        ssn["name"] = "tax_id"
        del ssn["policyTags"]

    result = compare(schema(BASE), schema(edit(untagged)), "nba.t")
    assert [(v.rule, v.column) for v in result.violations] == [
        ("FIELD_NO_RENAME", "ssn"),
        ("POLICY_TAG_NO_DELETE", "tax_id"),
    ]

    def reshaped(f: list[dict[str, Any]]) -> None:
        shot = col(f, "shot")
        shot["name"] = "attempt"
        shot["fields"] = [{"name": "zone", "type": "STRING"},
                          {"name": "blocked", "type": "BOOL", "mode": "REQUIRED"}]  # fmt: skip

    result = compare(schema(BASE), schema(edit(reshaped)), "nba.t")
    assert sorted((v.rule, v.column) for v in result.violations) == [
        ("FIELD_NO_DELETE", "attempt.made"),
        ("FIELD_NO_RENAME", "shot"),
        ("NO_REQUIRED_ADD", "attempt.blocked"),
    ]


def test_history_a_commit_fixing_a_broken_catalog_is_not_blocked_by_its_base(
    repo: Path,
) -> None:
    """A tables.yaml broken at the base (a typo committed with --no-verify, or before the
    check knew the key) failed every later run with "LAYOUT_INVALID at HEAD", the commit
    that fixes it included: the hook blocked the fix. A broken base has no layout to
    protect (as a broken base schema file: nothing compared); the working tree's own
    catalog is still checked."""
    catalog = repo / "schemas" / "tables.yaml"
    catalog.write_text("nba_analytics.player_game_summary: {partiton: game_date}\n")
    git(repo, "commit", "-q", "-am", "typo")
    assert [(f.rule, f.message.split(":")[0]) for f in check_against_ref([], today=TODAY)
            .all_findings] == [("LAYOUT_INVALID", "working tree")]  # fmt: skip
    catalog.write_text("nba_analytics.player_game_summary: {partition: game_date}\n")
    result = check_against_ref([], today=TODAY)
    assert result.all_findings == [] and not result.failed


def test_a_stated_case_sensitive_collation_is_kept_in_the_ddl() -> None:
    """collation '' states case-sensitive, which an unset column is not in a table whose
    defaultCollation is 'und:ci' (it "inherits the table default collation", bigquery v2
    discovery document, Table.defaultCollation). The DDL dropped '' as if unset: ADD
    COLUMN made the column case-insensitive, against its file, and the next live diff
    found COLLATION_SAME, which nothing applies in place. COLLATE '' is valid column DDL
    (GoogleSQL collation concepts: ``col_b STRING COLLATE ''``)."""
    table = {"defaultCollation": "und:ci"}

    def adds(f: list[dict[str, Any]]) -> None:
        f.append({"name": "team", "type": "STRING", "collation": ""})
        f.append({"name": "pair", "type": "RECORD",
                  "fields": [{"name": "a", "type": "STRING", "collation": ""}]})  # fmt: skip

    result = compare(schema(BASE, table), schema(edit(adds), table), "nba.t")
    assert result.violations == []
    assert [s.sql for s in result.allowed] == [
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `team` STRING COLLATE ''",
        "ALTER TABLE `nba.t` ADD COLUMN IF NOT EXISTS `pair` STRUCT<`a` STRING COLLATE ''>",
    ]
    old = edit(lambda fs: col(fs, "code").update(collation=""))
    new = edit(lambda fs: col(fs, "code").update(collation="", maxLength="20"))
    widened = compare(schema(old, table), schema(new, table), "nba.t").allowed
    assert [s.sql for s in widened] == [
        "ALTER TABLE `nba.t` ALTER COLUMN `code` SET DATA TYPE STRING(20) COLLATE ''"
    ]


def test_requiring_a_partition_filter_breaks_readers_that_have_none() -> None:
    """A table resource turning on requirePartitionFilter (table-level, or the deprecated
    timePartitioning.requirePartitionFilter) makes every query without a filter on the
    partition column fail ("Cannot query over table ... without a filter over column(s)
    ... that can be used for partition elimination"); the key was not read, so the change
    passed as no change at all. Turning it off breaks nobody."""

    def table(**extra: Any) -> Any:
        part: dict[str, Any] = {"type": "DAY", "field": "game_date"}
        part.update(extra.pop("partition", {}))
        return schema(BASE, {"timePartitioning": part, **extra})

    off, on = table(), table(requirePartitionFilter=True)
    found = compare(off, on, "nba.t").violations
    assert [(v.rule, v.column) for v in found] == [("PARTITION_FILTER_NO_REQUIRE", "")]
    assert BREAKING_RULES["PARTITION_FILTER_NO_REQUIRE"].categories == ("CONSUMER",)
    deprecated = table(partition={"requirePartitionFilter": True})
    assert [v.rule for v in compare(off, deprecated, "nba.t").violations] == [
        "PARTITION_FILTER_NO_REQUIRE"
    ]
    assert compare(on, deprecated, "nba.t").violations == []
    assert compare(on, on, "nba.t").violations == []
    relaxed = compare(on, off, "nba.t")
    assert relaxed.violations == [] and relaxed.changed
    # a bare column list says nothing about it: no comparison
    assert compare(schema(BASE), on, "nba.t").violations == []
