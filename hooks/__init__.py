"""pre-commit hooks: thin entry points over :mod:`nbaops.bqschema`.

Each module declares its ``PARSER`` and a ``check(args)`` that makes one nbaops call and
returns the lines to print and the findings; ``main(argv)`` is :func:`run` over the two.
Findings print as ``path:line: RULE_ID message``, then each failed rule's doc anchor and
waiver syntax. Exit codes are the contract (:data:`nbaops.errors.EXIT_CODES`, the table in
docs/troubleshooting.md#exit-codes): 1 when a finding is an error (warnings alone exit 0),
an :class:`~nbaops.errors.NbaopsError`'s own code when the check raised one, 3 with one
``internal error`` line for any other exception (never a traceback, never a finding's 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbaops.bqschema.model import Finding

Check = Callable[[argparse.Namespace], tuple[list[str], list["Finding"]]]


def _wants_json(parser: argparse.ArgumentParser, argv: Sequence[str]) -> bool:
    """The hook has ``--json`` (a store_true flag: default False) and it was given."""
    return parser.get_default("json") is False and "--json" in argv


def _error(prog: str, message: str, code: int, as_json: bool) -> int:
    """One ``prog: error: ...`` line on stderr and, with ``--json``, the README's document
    on stdout: ``{"error", "exit_code"}`` for bad usage (exit 2: nothing was measured),
    with ``"verdict": "ERROR"`` otherwise (as :func:`nbaops.cli.runner.run` writes it)."""
    from nbaops.stdio import stderr_line

    stderr_line(f"{prog}: {message}")  # a file name or flag from the command line: escaped
    if as_json:
        from nbaops.cli.runner import emit_json

        text = message.removeprefix("error: ")
        document: dict[str, Any] = {"error": text, "exit_code": code}
        emit_json(document if code == 2 else {"verdict": "ERROR", **document})
    return code


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None, check: Check) -> int:
    """Parse ``argv``, run ``check``, print its lines (and the rule help) and return the
    exit code; argparse's own exit (2 bad usage, 0 --help) is returned, not raised. With
    ``--json`` every error is one JSON document on stdout too (README, exit codes)."""
    from nbaops import stdio
    from nbaops.errors import NbaopsError, UsageError

    stdio.prepare()
    given = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(parser, given)
    try:
        args = stdio.parse_args(parser, given)
    except UsageError as exc:
        return _error(parser.prog, f"error: {exc}", 2, as_json)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    out = False  # the output has started: with --json, the one document (no second one)
    try:
        lines, findings = check(args)
        # printed in here too, as the task runner prints its report: Ctrl-C while the
        # findings print is one line and 130, not a KeyboardInterrupt traceback
        if not getattr(args, "json", False):  # one JSON document, nothing after it
            from nbaops.bqschema.docs import help_lines

            lines = [*lines, *help_lines(findings)]
        from nbaops.cli.runner import write_stdout  # `... | head` cuts it short, nothing else
        from nbaops.redact import printable, redact  # as the runner prints: a file name is data

        out = True
        write_stdout(printable(redact("".join(line + "\n" for line in lines))))
    except NbaopsError as exc:
        return _error(parser.prog, f"error: {exc}", exc.exit_code, as_json)
    except KeyboardInterrupt:  # Ctrl-C: one line and 130, as every task
        return _error(parser.prog, "interrupted", 130, as_json and not out)
    except Exception as exc:  # a bug or library error: one line and 3, as every task
        from nbaops.errors import EXIT_UNDETERMINED, first_line
        from nbaops.redact import redact

        text = redact(f"error: internal error: {first_line(exc, typed=True)}")
        return _error(parser.prog, text, EXIT_UNDETERMINED, as_json and not out)
    return stdio.settle(1 if any(f.is_error for f in findings) else 0)
