"""Typed errors of the library. Only entry points turn them into exit codes and messages.

The exit-code contract is :data:`EXIT_CODES`.
"""

from __future__ import annotations

import threading

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_UNDETERMINED = 3
EXIT_INTERRUPTED = 130

# The exit-code contract of every task, hook and ``python -m nbaops...`` entry point, its
# one declaration: README.md and docs/troubleshooting.md show it as a table generated from
# here (nbaops.docs_reference, block ``exit-codes contract``); other pages link there.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (warnings allowed)",
    EXIT_FAIL: "a check failed (FAIL), e.g. a deploy was rolled back",
    EXIT_USAGE: "bad input, usage or config — nothing was changed",
    EXIT_UNDETERMINED: "could not determine (ERROR or INCONCLUSIVE; a rollback failed)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): running local queries are stopped first, a "
    "deploy restores the previous traffic (SIGTERM/SIGHUP during a deploy: 3; during the "
    "recovery `verify-deploy` runs: 3, the lease released and the journal kept for the "
    "next run)",
}


class NbaopsError(Exception):
    """Base class. Its message is one line a person understands; never a secret."""

    exit_code: int = EXIT_UNDETERMINED


class UsageError(NbaopsError):
    """Bad input, flags or names. Raised before anything is changed."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The config file is missing or invalid."""


class DamagedStateError(ConfigError):
    """A local state file (the sandbox's, the stand-in's, the local warehouse) cannot be
    read: nothing measured can be trusted, so a run stops with this one line (exit 2)
    instead of each check reporting it as its own ERROR (and alerting on it)."""


class UnknownServiceError(UsageError):
    """A service name that the config does not know."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown service {name!r}; known services: {', '.join(known)}")
        self.name = name
        self.known = known


class OutputError(NbaopsError):
    """An output file a flag names could not be written (its folder was checked before the
    work: a disk that filled up since, a file-size limit). Exit 3; no output replaced."""


class AdapterError(NbaopsError):
    """A cloud or local backend call failed; the outcome could not be determined."""

    exit_code = EXIT_UNDETERMINED


class WarehouseError(AdapterError):
    """A warehouse (BigQuery or local DuckDB) call failed."""


class ParameterValueError(WarehouseError):
    """A query parameter's value does not convert to the type the query uses it as (a
    ``STRING`` ``"notadate"`` compared with a ``DATE`` column): the caller's value, not the
    warehouse, is at fault. ``name`` is the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class CloudRunError(AdapterError):
    """A Cloud Run Admin API call failed."""


class LoggingError(AdapterError):
    """A Cloud Logging call failed."""


class GitError(AdapterError):
    """git is missing, the folder is not a repository, or a git command failed."""


class MonitoringError(AdapterError):
    """A Cloud Monitoring call failed (or its answer exceeded the page bound)."""


def first_line(exc: BaseException, *, typed: bool = False) -> str:
    """The first line of ``exc``'s message, its type name when the message is empty.

    ``typed`` prefixes the type (``"TimeoutError: took too long"``). The one helper for
    turning an exception into a one-line note or error message.
    """
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {lines[0]}" if typed else lines[0]


# Ctrl-C as the entry point's SIGINT handler noted it (nbaops.cli.runner): a library may
# turn the KeyboardInterrupt into an error of its own (DuckDB: "Query interrupted"), which
# code that ignores failures (a warm-up) would swallow; it asks this instead.
_CTRL_C = threading.Event()


def ctrl_c_noted() -> bool:
    """Whether Ctrl-C arrived during the current task (False outside a task)."""
    return _CTRL_C.is_set()


def note_ctrl_c(seen: bool = True) -> None:
    """Set (a SIGINT arrived) or clear (a task starts or ends) :func:`ctrl_c_noted`."""
    if seen:
        _CTRL_C.set()
    else:
        _CTRL_C.clear()
