"""bq-schema-breaking: block schema changes BigQuery rejects or that break consumers."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hooks import run

if TYPE_CHECKING:
    from nbaops.bqschema.model import Finding

PARSER = argparse.ArgumentParser(
    prog="bq-schema-breaking",
    description="Compare schema files with a git base and report breaking changes by "
    "rule id (see docs/schema-rules.md); prints the DDL for the allowed part.",
)
PARSER.add_argument(
    "filenames",
    nargs="*",
    help="changed schema files (and tables.yaml); none = every schema file",
)
PARSER.add_argument(
    "--against",
    default=None,
    metavar="REF",
    help="git ref to compare with (default: $PRE_COMMIT_FROM_REF when pre-commit runs with "
    "--from-ref/--to-ref, else HEAD)",
)
PARSER.add_argument(
    "--config",
    default=None,
    metavar="PATH",
    help="YAML file with a schema_rules: section (default: nbaops.yaml in this folder or "
    "the nearest one above it, up to the repository root)",
)
PARSER.add_argument(
    "--schemas-dir",
    default=None,
    metavar="DIR",
    help="folder of schema files, relative to the repository root "
    "(for removed tables and tables.yaml; default schemas)",
)
PARSER.add_argument("--no-ddl", action="store_true", help="do not print the DDL")


# `pre-commit run --from-ref A --to-ref B` (CI) exports A and B to the hooks it runs:
# pre_commit/commands/run.py sets environ['PRE_COMMIT_FROM_REF'] = args.from_ref and
# environ['PRE_COMMIT_TO_REF'] = args.to_ref when both are given (pre-commit/pre-commit;
# pre-commit-hooks' check_added_large_files reads them the same way). A commit in A..B that
# drops a column is already in HEAD: compared with HEAD it would pass.
FROM_REF_ENV = "PRE_COMMIT_FROM_REF"


def check(args: argparse.Namespace) -> tuple[list[str], list[Finding]]:
    from nbaops.bqschema.breaking import load_rule_config
    from nbaops.bqschema.diff import check_against_ref, render_lines
    from nbaops.environment import read

    result = check_against_ref(
        args.filenames,
        ref=args.against or read(FROM_REF_ENV) or "HEAD",
        config=load_rule_config(args.config),
        schemas_dir=args.schemas_dir,
    )
    return render_lines(result, ddl=not args.no_ddl), result.all_findings


def main(argv: Sequence[str] | None = None) -> int:
    return run(PARSER, argv, check)


if __name__ == "__main__":
    raise SystemExit(main())
