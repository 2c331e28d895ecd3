"""Run one library operation for a task: build the context, render, map to an exit code.

This is the only place that turns :class:`~nbaops.errors.NbaopsError` into a one-line
message and an exit code. Tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from nbaops.errors import (
    EXIT_INTERRUPTED,
    EXIT_UNDETERMINED,
    EXIT_USAGE,
    NbaopsError,
    UsageError,
    note_ctrl_c,
)
from nbaops.errors import first_line as one_line
from nbaops.stdio import lost, settle, stderr_line

if TYPE_CHECKING:
    from nbaops.context import Context
    from nbaops.report import Report


def write_stdout(text: str) -> None:
    """Write and flush ``text``; a reader that went away cuts it short, nothing else (the
    command still exits with its own code), and a full file loses the rest of it (the
    exit code says so: :func:`nbaops.stdio.lost`, :func:`nbaops.stdio.settle`)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        lost(sys.stdout, exc)


# A task run's JSON document is on stdout (its one document): an interruption after it
# prints no second one (cleared as each task run starts, or a command's parsing).
_DOCUMENT_OUT: list[bool] = []


def start_document() -> None:
    """A new command or task run: its ``--json`` document is still to be printed."""
    _DOCUMENT_OUT.clear()


def emit_json(document: dict[str, Any]) -> None:
    """Print one JSON document, every string in it redacted (:func:`nbaops.redact.redact`).

    Strict JSON: a NaN or infinite number is written as its name in a string (``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``, as BigQuery's REST API writes FLOAT64), not as the bare
    ``NaN`` Python would print and ``jq`` refuses.
    """
    from nbaops.redact import redact_tree

    plain = jsonlib.loads(jsonlib.dumps(document, default=str, sort_keys=False))
    strict = _finite(redact_tree(plain))
    _DOCUMENT_OUT.append(True)
    write_stdout(jsonlib.dumps(strict, sort_keys=False, allow_nan=False) + "\n")


def _finite(tree: Any) -> Any:
    from nbaops.report import nonfinite_name

    if isinstance(tree, float):
        return nonfinite_name(tree) or tree
    if isinstance(tree, list):
        return [_finite(v) for v in tree]
    if isinstance(tree, dict):
        return {k: _finite(v) for k, v in tree.items()}
    return tree


def run(
    action: Callable[[Context], Report],
    *,
    profile: str | None = None,
    json_output: bool = False,
    debug: bool = False,
) -> int:
    """Build the context, run ``action``, print its report and return the exit code
    (:func:`nbaops.stdio.settle`: output stdout could not take makes a success 3)."""
    start_document()
    return settle(_run(action, profile=profile, json_output=json_output, debug=debug))


def _run(
    action: Callable[[Context], Report], *, profile: str | None, json_output: bool, debug: bool
) -> int:
    from nbaops.verdict import exit_code_for

    with _sigint_noted() as ctrl_c:
        try:
            from nbaops import environment
            from nbaops.sandbox.world import open_context

            environment.check()  # e.g. a bad NBAOPS_NOW: one line, exit 2, before anything runs
            ctx = open_context(profile)
            report = action(ctx)
            if ctrl_c:  # the interrupt was swallowed on its way (a warm-up ignoring errors)
                raise KeyboardInterrupt
            # printed in here too: Ctrl-C while a long report prints is 130 (Invoke made it
            # 1, "a check failed"), a report that cannot render is one line
            if json_output:
                emit_json(report.to_json())
            else:
                _render_redacted(report)
            return exit_code_for(report.verdict)
        except KeyboardInterrupt as exc:
            return _interrupted(exc, json_output)
        except Exception as exc:
            if ctrl_c:  # DuckDB turns Ctrl-C into its own error ("Query interrupted")
                return _interrupted(KeyboardInterrupt(), json_output)
            if isinstance(exc, NbaopsError):
                return _fail(exc, exc.exit_code, json_output, debug)
            # an unexpected bug or library error: still one line, naming its type (a
            # KeyError's message is only the key: "internal error: 'x'" said nothing)
            return _fail(exc, EXIT_UNDETERMINED, json_output, debug, internal=True)


@contextlib.contextmanager
def _sigint_noted() -> Iterator[list[bool]]:
    """Note whether Ctrl-C arrived while the action ran (then raise KeyboardInterrupt as
    Python does). A DuckDB query in the main thread catches the interrupt itself and
    raises its own error, which is reported as the interruption it is, not as a failure.
    Off the main thread, or where SIGINT is ignored, nothing is installed."""
    seen: list[bool] = []
    previous = signal.getsignal(signal.SIGINT)

    def noted(signum: int, frame: Any) -> None:
        seen.append(True)
        note_ctrl_c()
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    if previous is signal.SIG_IGN:
        yield seen
        return
    try:
        signal.signal(signal.SIGINT, noted)
    except ValueError:  # not the main thread
        yield seen
        return
    note_ctrl_c(False)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)
        note_ctrl_c(False)


def interrupted(exc: KeyboardInterrupt, *, json_output: bool = False) -> int:
    """Ctrl-C that arrived outside a task's runner (:mod:`nbaops.cli.program`: parsing the
    command line, printing ``--list``): reported as the runner reports it; the exit code."""
    return settle(_interrupted(exc, json_output))


def _interrupted(exc: KeyboardInterrupt, json_output: bool) -> int:
    """Ctrl-C: 130; SIGTERM/SIGHUP during a deploy (nbaops.deploy.signals): its exit_code, 3."""
    code = int(getattr(exc, "exit_code", EXIT_INTERRUPTED))
    # a worker thread still inside DuckDB at shutdown aborts the process (exit -6)
    from nbaops.adapters.warehouse import interrupt_local_queries

    interrupt_local_queries()
    how = getattr(exc, "signal_name", None)
    stderr_line(f"nbaops: interrupted{f' ({how})' if how else ''}")
    if json_output and not _DOCUMENT_OUT:  # the report's document, written: the one
        emit_json({"verdict": "ERROR", "error": "interrupted", "exit_code": code})
    return code


def _render_redacted(report: Report) -> None:
    """Render the report, then print it with every secret fragment masked and every
    control character from its data escaped (Rich's own colours kept on a terminal)."""
    from nbaops.cli.plain import stdout_console
    from nbaops.redact import printable, redact

    console = stdout_console()
    try:  # a report may stream past the capture (sandbox.sql's rows): redacted itself
        with console.capture() as captured:
            report.render(console)
    except OSError as exc:  # a report streaming its rows into a pipe that closed
        lost(sys.stdout, exc)
        return
    styled = bool(getattr(console, "is_terminal", False))
    write_stdout(printable(redact(captured.get()), styled=styled))


MAX_ERROR_CHARS = 1000  # a pasted file as a flag value is echoed, not printed whole


def _fail(
    exc: BaseException, code: int, json_output: bool, debug: bool, *, internal: bool = False
) -> int:
    from nbaops.redact import printable, redact

    text = f"internal error: {one_line(exc, typed=True)}" if internal else one_line(exc)
    message = redact(text)
    if len(message) > MAX_ERROR_CHARS:
        cut = len(message) - MAX_ERROR_CHARS
        message = f"{message[:MAX_ERROR_CHARS]}... ({cut} more characters)"
    if debug:
        sys.stderr.write(printable(redact("".join(traceback.format_exception(exc)))))
    stderr_line(f"nbaops: error: {message}")
    if json_output:  # bad input (exit 2) measured nothing: no verdict, only the error
        document: dict[str, Any] = {"error": message, "exit_code": code}
        emit_json(document if code == EXIT_USAGE else {"verdict": "ERROR", **document})
    return code


def usage_exit(message: str, *, json_output: bool = False) -> None:
    """Report a command-line usage error (bad flag, unknown task) and exit 2.

    The same one line (and ``--json`` document) as a :class:`~nbaops.errors.UsageError`
    raised by a task; used by :mod:`nbaops.cli.program` for Invoke's parse errors.
    """
    code = _fail(UsageError(message), EXIT_USAGE, json_output, debug=False)
    raise SystemExit(code)
