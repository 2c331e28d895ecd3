"""`nox -s bench` entry point: run every benchmark row, write reports/bench.{json,md}.

python -m benchmarks.run [--repeats N] [--only ROW ...] [--out reports] [--debug]
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Row, write_reports
from benchmarks.process_rows import PROCESS_ROWS
from benchmarks.rows import REPO, ROWS
from nbaops.errors import UsageError, first_line
from nbaops.stdio import parse_args, run_main


def measure(fn: Callable[[int], Row], repeats: int, *, debug: bool = False) -> Row:
    """Run one row. One that raises must not lose the others: it becomes the row
    ``error: <type>: <first line>``, said in one line on stderr (the traceback only with
    ``--debug``, as tasks show theirs: nbaops.cli.runner)."""
    try:
        return fn(repeats)
    except Exception as exc:
        reason = f"error: {first_line(exc, typed=True)}"
        if debug:
            traceback.print_exc()
        print(f"bench: {fn.__name__}: {reason}", file=sys.stderr, flush=True)
        return Row.unavailable(fn.__name__, fn.__name__, reason)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument(
        "--only", nargs="*", default=None, help="row functions to run (e.g. inv_list seasons)"
    )
    parser.add_argument("--out", default=str(REPO / "reports"))
    parser.add_argument("--debug", action="store_true", help="a failing row's traceback")
    args = parse_args(parser, argv)
    if args.repeats < 1:  # was run once, as if asked: a figure of 0 runs has no median
        raise UsageError(f"--repeats: {args.repeats} must be at least 1")
    every = [*ROWS, *PROCESS_ROWS]
    unknown = [name for name in args.only or () if name not in {fn.__name__ for fn in every}]
    if unknown:  # a typo would run no row and replace the reports with empty ones
        names = ", ".join(fn.__name__ for fn in every)
        raise UsageError(f"--only: no row {', '.join(unknown)}; rows: {names}")
    # Time processes as a user's machine runs them: with bytecode cached. A session that
    # sets PYTHONDONTWRITEBYTECODE would otherwise make every timed process (ours and the
    # Python-based references alike) recompile each module it imports.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    rows: list[Row] = []
    for fn in every:
        if args.only and fn.__name__ not in args.only:
            continue
        print(f"bench: {fn.__name__} ...", file=sys.stderr, flush=True)
        rows.append(measure(fn, args.repeats, debug=args.debug))
    json_path, md_path = write_reports(rows, Path(args.out))
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 1 if any(r.reason.startswith("error:") for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
