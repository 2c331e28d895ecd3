"""sql-schema-refs: every SQL query in the package names only tables and columns in schemas/."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hooks import run

if TYPE_CHECKING:
    from nbaops.bqschema.model import Finding

PARSER = argparse.ArgumentParser(
    prog="sql-schema-refs",
    description="Parse every SQL query in the Python sources (SQLGlot, BigQuery dialect) "
    "and report tables and columns that schemas/ does not have.",
)
PARSER.add_argument(
    "paths",
    nargs="*",
    help="Python files or folders to scan (default: every file matching --glob)",
)
PARSER.add_argument(
    "--glob",
    action="append",
    metavar="PATTERN",
    help="which Python files hold queries when no paths are given (repeatable; default **/*.py)",
)
PARSER.add_argument(
    "--exclude",
    action="append",
    metavar="PATTERN",
    help="files to skip (repeatable; default tests/**, test/**, **/tests/**, venv/**, "
    "build/**, dist/**)",
)
PARSER.add_argument(
    "--schemas-dir",
    default="schemas",
    metavar="DIR",
    help="folder of BigQuery schema files (default schemas)",
)


def check(args: argparse.Namespace) -> tuple[list[str], list[Finding]]:
    from nbaops.bqschema.sql_refs import check_paths

    findings = check_paths(args.paths, args.schemas_dir, globs=args.glob, excludes=args.exclude)
    return [f.format() for f in findings], findings


def main(argv: Sequence[str] | None = None) -> int:
    return run(PARSER, argv, check)


if __name__ == "__main__":
    raise SystemExit(main())
