"""docs/schema-rules.md is generated from the rule catalogs and must match them."""

from __future__ import annotations

from pathlib import Path

from nbaops.bqschema.breaking import BREAKING_RULES
from nbaops.bqschema.docs import render_markdown
from nbaops.bqschema.lint_rules import LINT_RULES
from nbaops.bqschema.sql_refs import SQL_RULES

ROOT = Path(__file__).resolve().parents[2]


def test_doc_matches_the_catalog() -> None:
    current = (ROOT / "docs" / "schema-rules.md").read_text(encoding="utf-8")
    assert current == render_markdown(), "run: python -m nbaops.docs_reference"


def test_every_rule_id_is_documented_once_and_ids_are_unique() -> None:
    text = render_markdown()
    ids = [*LINT_RULES, *BREAKING_RULES, *SQL_RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert text.count(f'| <a id="{rule_id}"></a>`{rule_id}` |') == 1, rule_id
