"""sql-schema-refs: every SQL query in the package names only tables and columns in schemas/."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hooks import parse_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sql-schema-refs",
        description="Parse every SQL query in the Python sources (SQLGlot, BigQuery dialect) "
        "and report tables and columns that schemas/ does not have.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        help="Python files or folders to scan (default: every file matching --glob)",
    )
    parser.add_argument(
        "--glob",
        action="append",
        metavar="PATTERN",
        help="which Python files hold queries when no paths are given (repeatable; "
        "default **/*.py)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="files to skip (repeatable; default tests/**, test/**, **/tests/**, venv/**, "
        "build/**, dist/**)",
    )
    parser.add_argument(
        "--schemas-dir",
        default="schemas",
        metavar="DIR",
        help="folder of BigQuery schema files (default schemas)",
    )
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args
    from nbaops.bqschema.sql_refs import DEFAULT_EXCLUDES, DEFAULT_GLOBS, find_python_files

    paths = args.paths or find_python_files(
        args.glob or DEFAULT_GLOBS, args.exclude or DEFAULT_EXCLUDES
    )
    missing = [p for p in [*paths, args.schemas_dir] if not os.path.exists(p)]
    if missing:
        print(f"sql-schema-refs: error: {missing[0]}: no such file or folder", file=sys.stderr)
        return 2

    from nbaops.bqschema.lint import has_errors
    from nbaops.bqschema.rule_help import help_lines
    from nbaops.bqschema.sql_refs import check_paths
    from nbaops.errors import ConfigError

    try:
        findings = check_paths(paths, args.schemas_dir)
    except ConfigError as exc:  # a schema file the one catalog loader refuses: bad config
        print(f"sql-schema-refs: error: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding.format())
    for line in help_lines(findings):
        print(line)
    sys.stdout.flush()
    return 1 if has_errors(findings) else 0


if __name__ == "__main__":
    raise SystemExit(main())
