"""Breaking-change rules at their edges: malformed ``schema_rules`` sections and rule files,
waivers scoped to another table, case-only renames, nested relaxations and widenings,
RANGE element changes, policy tags added, defaults changed, unknown types left to lint."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from nbaops.bqschema.breaking import RuleConfig, compare, judge, load_rule_config
from nbaops.bqschema.parse import decode_document, to_table_schema
from nbaops.errors import ConfigError

TODAY = dt.date(2026, 11, 25)
TABLE = "nba.t"


def schema(fields: list[dict[str, Any]]) -> Any:
    return to_table_schema(decode_document("t.json", json.dumps(fields, indent=2).encode()))


def diff(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Any:
    return compare(schema(old), schema(new), TABLE)


def rules(result: Any) -> list[str]:
    return sorted(v.rule for v in result.violations)


SHOT = {
    "name": "shot",
    "type": "RECORD",
    "fields": [
        {"name": "zone", "type": "STRING", "mode": "REQUIRED"},
        {"name": "code", "type": "STRING", "maxLength": "5"},
        {"name": "note", "type": "STRING", "description": "old"},
        {"name": "src", "type": "STRING", "defaultValueExpression": "'a'"},
    ],
}


def shot(**changes: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(json.dumps(SHOT))
    for sub in record["fields"]:
        sub.update(changes.get(sub["name"], {}))
    return record


# -- the schema_rules section -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (["FIELD_NO_DELETE"], "schema_rules: must be a mapping"),
        ({"except": "CLUSTER_SAME"}, "except: must be a list"),
        ({"except": [42]}, r"except\[0\]: 42 is not text"),
        ({"waivers": {"rule": "FIELD_NO_DELETE"}}, "waivers: must be a list"),
        ({"waivers": ["FIELD_NO_DELETE"]}, r"waivers\[0\]: must be a mapping"),
        (
            {"waivers": [{"rule": "FIELD_NO_DELETE", "table": "a.b", "why": "x"}]},
            r"waivers\[0\]: unknown key 'why'",
        ),
        (
            {
                "waivers": [
                    {
                        "rule": "FIELD_NO_DELETE",
                        "table": "a.b",
                        "column": 7,
                        "reason": "x",
                        "expires": "2027-01-01",
                    }
                ]
            },
            r"waivers\[0\]\.column: 7 is not text",
        ),
    ],
)
def test_malformed_rule_sections_name_the_bad_entry(section: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RuleConfig.from_mapping(section)


def test_an_empty_section_means_every_rule_and_no_waiver() -> None:
    assert RuleConfig.from_mapping({}) == RuleConfig()
    assert RuleConfig.from_mapping(None) == RuleConfig()


def test_waiver_expiry_given_as_a_timestamp_counts_by_its_date() -> None:
    config = RuleConfig.from_mapping(
        {
            "waivers": [
                {
                    "rule": "FIELD_NO_DELETE",
                    "table": "a.b",
                    "reason": "retired",
                    "expires": dt.datetime(2027, 3, 1, 23, 59),
                }
            ]
        }
    )
    assert config.waivers[0].expires == dt.date(2027, 3, 1)


def test_rule_file_that_is_empty_or_not_a_mapping(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_rule_config(str(empty)) == RuleConfig()
    listed = tmp_path / "list.yaml"
    listed.write_text("- schema_rules\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_rule_config(str(listed))


def test_without_a_path_a_missing_nbaops_yaml_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_rule_config(None) == RuleConfig()
    (tmp_path / "nbaops.yaml").write_text(
        "schema_rules:\n  except: [CLUSTER_SAME]\n", encoding="utf-8"
    )
    assert load_rule_config(None).except_ids == {"CLUSTER_SAME"}


def test_waiver_for_another_table_does_not_apply() -> None:
    old = [{"name": "a", "type": "STRING"}, {"name": "b", "type": "STRING"}]
    result = diff(old, old[:1])
    config = RuleConfig.from_mapping(
        {
            "waivers": [
                {
                    "rule": "FIELD_NO_DELETE",
                    "table": "nba.other",
                    "column": "b",
                    "reason": "x",
                    "expires": "2027-01-01",
                }
            ]
        }
    )
    out = judge(result, config, path="t.json", today=TODAY)
    assert out.failed
    assert [v.rule for v in out.blocked] == ["FIELD_NO_DELETE"]


# -- comparison edges -------------------------------------------------------------------------


def test_case_only_rename_is_a_rename_with_ddl() -> None:
    result = diff([{"name": "points", "type": "INT64"}], [{"name": "Points", "type": "INT64"}])
    assert rules(result) == ["FIELD_NO_RENAME"]
    (v,) = result.violations
    assert "case only" in v.message
    assert v.ddl is not None
    assert v.ddl.sql == "ALTER TABLE `nba.t` RENAME COLUMN `points` TO `Points`"


def test_nested_changes_without_ddl_become_notes_not_violations() -> None:
    new = shot(
        zone={"mode": "NULLABLE"},
        code={"maxLength": "20"},
        note={"description": "new"},
        src={"defaultValueExpression": "'b'"},
    )
    result = diff([SHOT], [new])
    assert result.violations == []
    assert result.allowed == []
    joined = "\n".join(result.notes)
    assert "shot.zone relaxed to NULLABLE" in joined
    assert "shot.code type parameters widened" in joined
    assert "shot.note description changed" in joined
    assert "shot.src default changed" in joined
    assert result.changed


def test_top_level_default_change_is_allowed_with_ddl() -> None:
    old = [{"name": "src", "type": "STRING", "defaultValueExpression": "'a'"}]
    new = [{"name": "src", "type": "STRING", "defaultValueExpression": "'b'"}]
    result = diff(old, new)
    assert result.violations == []
    assert [s.kind for s in result.allowed] == ["set_default"]
    assert "DEFAULT 'b'" in result.allowed[0].sql


def test_range_element_change_breaks_both_categories() -> None:
    old = [{"name": "window", "type": "RANGE", "rangeElementType": {"type": "DATE"}}]
    new = [{"name": "window", "type": "RANGE", "rangeElementType": {"type": "TIMESTAMP"}}]
    result = diff(old, new)
    assert rules(result) == ["FIELD_COERCIBLE_TYPE", "FIELD_SAME_TYPE"]
    assert "RANGE<DATE> -> RANGE<TIMESTAMP>" in result.violations[0].message


def test_policy_tag_added_is_a_note_not_a_violation() -> None:
    tag = "projects/p/locations/us/taxonomies/1/policyTags/9"
    old = [{"name": "ssn", "type": "STRING"}]
    new = [{"name": "ssn", "type": "STRING", "policyTags": {"names": [tag]}}]
    result = diff(old, new)
    assert result.violations == []
    assert result.notes == ["column ssn policy tag added: apply with `bq update`"]


def test_unknown_type_is_left_to_lint_not_reported_as_a_type_change() -> None:
    result = diff([{"name": "x", "type": "STRING"}], [{"name": "x", "type": "STRNG"}])
    assert result.violations == []
    assert not result.changed


def test_precision_without_scale_means_scale_zero() -> None:
    # NUMERIC(10) has scale 0: NUMERIC(12, 2) keeps 10 integer digits, so it only widens.
    old = [{"name": "p", "type": "NUMERIC", "precision": "10"}]
    widened = diff(old, [{"name": "p", "type": "NUMERIC", "precision": "12", "scale": "2"}])
    assert widened.violations == []
    assert [s.kind for s in widened.allowed] == ["set_data_type"]
    narrowed = diff(old, [{"name": "p", "type": "NUMERIC", "precision": "10", "scale": "2"}])
    assert rules(narrowed) == ["TYPE_PARAMS_NO_NARROW"]
    assert "(10, 0) -> (10, 2)" in narrowed.violations[0].message


def test_an_added_column_whose_type_ddl_cannot_name_is_a_note_not_a_crash() -> None:
    # hypothesis found it: [{"name": "", "type": ""}] made SQLGlot raise from the DDL builder
    from nbaops.bqschema import ddl
    from nbaops.bqschema.breaking import compare
    from nbaops.bqschema.model import Field, TableSchema

    old = TableSchema(fields=[Field(name="a", type="STRING")])
    new = TableSchema(fields=[Field(name="a", type="STRING"), Field(name="b", type="")])
    result = compare(old, new, "d.t")
    assert result.allowed == []
    assert any("no DDL: type '' is not a BigQuery type" in n for n in result.notes)
    with pytest.raises(ddl.DdlTypeError):
        ddl.add_column("d.t", Field(name="c", type="NOT A TYPE("))
