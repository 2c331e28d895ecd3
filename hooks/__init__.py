"""pre-commit hooks: thin entry points over :mod:`nbaops.bqschema`.

Each module has ``main(argv) -> int`` that parses arguments, calls one nbaops function,
prints findings as ``path:line: RULE_ID message`` and returns the exit code: 0 clean or
warnings only, 1 an error finding, 2 bad usage or config, 3 could not determine.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace | int:
    """Parse ``argv``; an int is the exit code argparse chose (2 for bad usage, 0 for
    --help) so ``main`` can return it instead of raising."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
