"""What to do about a failed schema rule: where it is explained and how to waive it.

Every hook prints, after its findings, one block per failed rule (and table/column)::

    FIELD_NO_DELETE: explained at docs/schema-rules.md#FIELD_NO_DELETE (nbaops docs)
      waive it (schema_rules.waivers in nbaops.yaml or --config FILE):
        - {rule: FIELD_NO_DELETE, table: nba_raw.games, column: status,
           reason: "...", expires: YYYY-MM-DD}     <- one line in the output

Breaking-change rules can be waived one change at a time or excepted everywhere
(``schema_rules.except``); lint and SQL reference rules cannot: the fix is in the file.
The anchors are the ids :mod:`nbaops.bqschema.docs` writes into docs/schema-rules.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from nbaops.bqschema.model import Finding

DOC = "docs/schema-rules.md"


def help_lines(findings: Sequence[Finding]) -> list[str]:
    """The doc anchor and the waiver syntax (or why there is none) per failed rule."""
    from nbaops.bqschema.breaking import BREAKING_RULES

    lines: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for f in findings:
        if not f.is_error or (f.rule, f.table, f.column) in seen:
            continue
        seen.add((f.rule, f.table, f.column))
        # The rule id is the HTML id of its row in docs/schema-rules.md.
        lines.append(f"{f.rule}: explained at {DOC}#{f.rule} (nbaops docs)")
        if f.rule in BREAKING_RULES:
            where = f"table: {f.table or 'DATASET.TABLE'}"
            if f.column:
                where += f", column: {f.column}"
            lines.append("  waive it (schema_rules.waivers in nbaops.yaml or --config FILE):")
            lines.append(
                f'    - {{rule: {f.rule}, {where}, reason: "why it is safe", expires: YYYY-MM-DD}}'
            )
        else:
            lines.append("  not waivable: fix the file (see the rule's 'How to fix')")
    return lines
