"""pre-commit hooks: thin entry points over :mod:`nbaops.bqschema`.

Each module declares its ``PARSER`` and a ``check(args)`` that makes one nbaops call and
returns the lines to print and the findings; ``main(argv)`` is :func:`run` over the two.
Findings print as ``path:line: RULE_ID message``, then each failed rule's doc anchor and
waiver syntax. Exit codes: 0 clean or warnings only, 1 an error finding, 2 bad usage or
config, 3 could not determine (an :class:`~nbaops.errors.NbaopsError`'s own code), 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbaops.bqschema.model import Finding

Check = Callable[[argparse.Namespace], tuple[list[str], list["Finding"]]]


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None, check: Check) -> int:
    """Parse ``argv``, run ``check``, print its lines (and the rule help) and return the
    exit code; argparse's own exit (2 bad usage, 0 --help) is returned, not raised."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    from nbaops.bqschema.docs import help_lines
    from nbaops.errors import NbaopsError

    try:
        lines, findings = check(args)
    except NbaopsError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C: one line and 130, as every task
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    if not getattr(args, "json", False):  # one JSON document, nothing after it
        lines = [*lines, *help_lines(findings)]
    from nbaops.cli.runner import write_stdout  # `... | head` cuts it short, nothing else

    write_stdout("".join(line + "\n" for line in lines))
    return 1 if any(f.is_error for f in findings) else 0
