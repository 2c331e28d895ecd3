"""bq-schema-breaking: block schema changes BigQuery rejects or that break consumers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hooks import parse_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bq-schema-breaking",
        description="Compare schema files with a git base and report breaking changes by "
        "rule id (see docs/schema-rules.md); prints the DDL for the allowed part.",
    )
    parser.add_argument(
        "filenames",
        nargs="*",
        help="changed schema files (and tables.yaml); none = every schema file",
    )
    parser.add_argument(
        "--against",
        default="HEAD",
        metavar="REF",
        help="git ref to compare with (default HEAD; origin/main in CI)",
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help="YAML file with a schema_rules: section (default nbaops.yaml when present)",
    )
    parser.add_argument(
        "--schemas-dir",
        default="schemas",
        metavar="DIR",
        help="folder of schema files, relative to the repository root "
        "(for removed tables and tables.yaml)",
    )
    parser.add_argument("--no-ddl", action="store_true", help="do not print the DDL")
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args

    from nbaops.bqschema.breaking import load_rule_config
    from nbaops.bqschema.diff import check_against_ref, render_lines
    from nbaops.errors import NbaopsError

    try:
        config = load_rule_config(args.config)
        result = check_against_ref(
            args.filenames, ref=args.against, config=config, schemas_dir=args.schemas_dir
        )
    except NbaopsError as exc:
        print(f"bq-schema-breaking: error: {exc}", file=sys.stderr)
        return exc.exit_code
    from nbaops.bqschema.rule_help import help_lines

    for line in render_lines(result):
        if args.no_ddl and (line.startswith("ALTER ") or line.startswith("-- ")):
            continue
        print(line)
    for line in help_lines(result.all_findings):
        print(line)
    sys.stdout.flush()
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
