"""bq-schema-lint: validate BigQuery schema files (all three forms) before they are committed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hooks import run

if TYPE_CHECKING:
    from nbaops.bqschema.model import Finding

PARSER = argparse.ArgumentParser(
    prog="bq-schema-lint",
    description="Lint BigQuery schema files: JSON syntax, types, modes, names, nesting, "
    "type parameters, unknown keys. Errors fail; warnings are printed only.",
)
PARSER.add_argument("filenames", nargs="*", help="schema files to check")
PARSER.add_argument("--json", action="store_true", help="print findings as one JSON document")


def check(args: argparse.Namespace) -> tuple[list[str], list[Finding]]:
    from nbaops.bqschema.lint import lint_paths

    findings = lint_paths(args.filenames)
    if args.json:
        return [json.dumps({"findings": [f.to_json() for f in findings]})], findings
    return [f.format() for f in findings], findings


def main(argv: Sequence[str] | None = None) -> int:
    return run(PARSER, argv, check)


if __name__ == "__main__":
    raise SystemExit(main())
