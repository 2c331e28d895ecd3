"""bq-schema-lint: validate BigQuery schema files (all three forms) before they are committed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hooks import parse_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bq-schema-lint",
        description="Lint BigQuery schema files: JSON syntax, types, modes, names, nesting, "
        "type parameters, unknown keys. Errors fail; warnings are printed only.",
    )
    parser.add_argument("filenames", nargs="*", help="schema files to check")
    parser.add_argument("--json", action="store_true", help="print findings as one JSON document")
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args

    from nbaops.bqschema.lint import has_errors, lint_paths

    findings = lint_paths(args.filenames)
    if args.json:
        import json

        print(json.dumps({"findings": [f.to_json() for f in findings]}))
    else:
        from nbaops.bqschema.rule_help import help_lines

        for finding in findings:
            print(finding.format())
        for line in help_lines(findings):
            print(line)
    sys.stdout.flush()
    return 1 if has_errors(findings) else 0


if __name__ == "__main__":
    raise SystemExit(main())
