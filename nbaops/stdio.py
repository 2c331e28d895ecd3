"""The process's standard streams, made safe once when an entry point starts (:func:`prepare`).

An operator's shell, a cron job or a CI step can hand the process streams that break a
naive ``print``:

- a closed descriptor (``>&-``, ``2>&-``): Python sets ``sys.stdout``/``sys.stderr`` to
  None, and the next file nbaops opens would take descriptor 1 or 2 (its output landing
  in that file). The descriptor is pointed at ``/dev/null`` instead;
- an encoding that cannot hold the output (``PYTHONIOENCODING=ascii``; the reports use ✅
  and →): characters it lacks are written escaped (``\\u2192``) instead of raising;
- a reader that goes away (``inv deploy 2>&1 | head``): a write into the broken pipe
  sends the rest of that stream to ``/dev/null`` instead of raising, so printing the
  progress of a deploy can never stop the deploy (it did: the rollback never ran);
- a stream that cannot take the output (``> /dev/full``, a full disk, a file over
  ``ulimit -f``): the rest of that stream goes to ``/dev/null`` too and the work goes on
  (a deploy that succeeded was reported as a traceback and exit 1), but stdout's loss is
  not silent: :func:`settle` prints one line and turns a success into exit 3 (the report
  a caller waits for was not delivered).

Python's own advice for the broken pipe:
https://docs.python.org/3/library/signal.html#note-on-sigpipe.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn, TextIO

from nbaops.errors import (
    EXIT_INTERRUPTED,
    EXIT_UNDETERMINED,
    NbaopsError,
    UsageError,
    first_line,
)
from nbaops.redact import printable, redact

_NAMES = ((0, "stdin"), (1, "stdout"), (2, "stderr"))
_prepared = False
_lost: dict[int, OSError] = {}  # descriptor -> the first error that lost its output
_said: list[bool] = []  # settle() has said that stdout lost output


class ForgivingStream:
    """A text stream whose reader may go away or whose file may fill up: it is silenced
    (:func:`lost`), never raises."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            lost(self._stream, exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            lost(self._stream, exc)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer, ...
        return getattr(self._stream, name)


def lost(stream: TextIO, exc: OSError) -> None:
    """``stream`` failed with ``exc``: silence it; anything but a reader that went away
    (a broken pipe: output cut short on purpose) is remembered for :func:`settle`."""
    with contextlib.suppress(OSError, ValueError):  # no descriptor: nothing to redirect
        if not isinstance(exc, BrokenPipeError):
            _lost.setdefault(stream.fileno(), exc)
        silence(stream)


def settle(code: int) -> int:
    """The exit code once the output is out: when stdout lost output (not to a broken
    pipe), one line on stderr says so and a success becomes 3 (nothing the caller could
    read shows it; a FAIL, a bad input or an interruption keeps its own code)."""
    for stream in (sys.stdout, sys.__stdout__):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    exc = _lost.get(1)
    if exc is None:
        return code
    if not _said:  # once per process: a task's runner and the program may both settle
        _said.append(True)
        reason = exc.strerror or type(exc).__name__
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(
                f"nbaops: error: the output could not be written to stdout: {reason}\n"
            )
            sys.stderr.flush()
    return code or EXIT_UNDETERMINED


def stderr_line(text: str) -> None:
    """One line on stderr as it is (no Rich: no markup, emoji codes or wrapping), every
    secret fragment masked and every control character escaped: the one way a note,
    warning or error reaches stderr (:func:`nbaops.redact.redact`,
    :func:`nbaops.redact.printable`)."""
    sys.stderr.write(printable(redact(text)) + "\n")
    sys.stderr.flush()


def run_main(action: Callable[[], int]) -> int:
    """Run an entry point that reads no profile (``inv docs.reference``, ``python -m
    nbaops.docs_reference``, ``nbaops.regression.ci``, ``nbaops.bq_emulator``) and return
    its exit code, Ctrl-C and errors ending as a task's do (:mod:`nbaops.cli.runner`):
    "nbaops: interrupted" and 130, one "nbaops: error: ..." line and the error's code (3
    for one nbaops did not expect), never a traceback. Invoke made Ctrl-C exit 1, "a
    check failed"; ``python -m`` printed a traceback for both."""
    try:
        return settle(action())
    except KeyboardInterrupt:
        stderr_line("nbaops: interrupted")
        return EXIT_INTERRUPTED
    except NbaopsError as exc:
        stderr_line(f"nbaops: error: {first_line(exc)}")
        return exc.exit_code
    except Exception as exc:
        stderr_line(f"nbaops: error: internal error: {first_line(exc, typed=True)}")
        return EXIT_UNDETERMINED


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> Any:
    """``parser.parse_args(argv)``, a usage error raised as :class:`~nbaops.errors.UsageError`
    (argparse's message: one line and exit 2 through :func:`run_main`) instead of argparse's
    usage line before it and its own exit (README: bad input is one line). ``--help`` still
    prints and exits 0."""

    def refuse(message: str) -> NoReturn:
        raise UsageError(message)

    original = parser.error
    parser.error = refuse  # type: ignore[method-assign]
    try:
        return parser.parse_args(argv)
    finally:
        parser.error = original  # type: ignore[method-assign]


def silence(stream: TextIO) -> None:
    """Send the rest of ``stream``'s output to ``/dev/null`` (its reader went away: ``inv
    ... | head``); what is still buffered goes there too, so neither the failed write nor
    Python's flush at exit prints a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def prepare() -> None:
    """Make the standard streams safe for the rest of the process (see the module
    docstring). Idempotent; a stream that is not exactly the interpreter's text file (a
    test's capture, a subclass of it) is left as it is."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    for fd, name in _NAMES:
        stream = getattr(sys, name)
        if stream is None:
            # a closed fd is the lowest free one (0-2 are handled in order), so /dev/null
            # opens as it; an fd a file took since start-up is left be
            target = os.open(os.devnull, os.O_RDWR)
            if target != fd and not _is_open(fd):
                os.dup2(target, fd)
                os.close(target)
                target = fd
            stream = open(  # noqa: SIM115  # the process's stream: open until exit
                target, "r" if fd == 0 else "w", encoding="utf-8", closefd=target != fd
            )
            setattr(sys, name, stream)
        if fd and type(stream) is io.TextIOWrapper:
            stream.reconfigure(errors="backslashreplace")
            setattr(sys, name, ForgivingStream(stream))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Run a user's code (``inv regression --model``) with what it prints sent to stderr:
    stdout holds the report, and ``--json`` exactly one document (a model printing
    "loading weights..." made it invalid JSON). Both Python's ``print`` and writes to
    descriptor 1 from native code are redirected; the block is not thread-safe (nothing
    else prints while a candidate runs)."""
    flush_everything()  # what was printed before the block stays on stdout
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: Python-level redirection only
        saved = -1
    try:
        if saved >= 0:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        # while descriptor 1 is still stderr: what the block left in a buffer (C's stdio
        # buffer, full-buffered on a pipe; the real stdout object written to directly)
        # must not come out on stdout after the report
        flush_everything()
        if saved >= 0:
            os.dup2(saved, 1)
            os.close(saved)


def flush_everything() -> None:
    """Flush Python's standard streams and the C library's stdio buffers (what a native
    extension printed); a stream that cannot take its output is left as it is."""
    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to flush (not on this platform)
        pass
