"""The one task decorator: common flags, the runner, fixed short flags and the one-hop map.

A task module holds only its own flags::

    @nbaops_task("nbaops.doctor.run_doctor")
    def doctor(ctx: Context) -> Report:
        \"\"\"Read-only preflight ...\"\"\"
        return run_doctor(ctx)

:func:`nbaops_task` adds ``--profile/--json/--debug`` (with their help), builds the
:class:`~nbaops.context.Context` and hands the returned report to
:func:`nbaops.cli.runner.run` (one line, exit code). A body that declares ``json``
still receives it. Every flag's short form comes from :data:`SHORT_FLAGS`. ``calls``
names the one nbaops function the task runs (a dotted path, so ``inv --list`` imports
nothing heavy); :mod:`nbaops.docs_reference.task_map` renders the task -> function -> module table
from it and ``tests/static/test_task_map.py`` checks every path resolves. Bodies import
nbaops modules inside the function: importing every feature module costs ``inv --list``
about 0.6 s on this machine.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from invoke.exceptions import Exit
from invoke.tasks import Task

from nbaops.cli.flags import flag_name
from nbaops.cli.runner import run
from nbaops.errors import UsageError
from nbaops.stdio import run_main

COMMON_HELP = {
    "profile": "Profile from nbaops.yaml: local (default, embedded sandbox) or prod "
    "(real GCP, Application Default Credentials). Also NBAOPS_PROFILE.",
    "json": "Print exactly one JSON document on stdout instead of the table.",
    "debug": "Show tracebacks for errors (nothing else does).",
}
# One short flag per long flag, across every task: Invoke's first free letter gave the same
# long flag different letters in different tasks (``--debug`` was ``-d`` next to ``--json``
# and ``-e`` next to ``--date``). A flag not listed gets no short form;
# ``tests/static/test_short_flags.py`` keeps it complete and collision-free.
SHORT_FLAGS: dict[str, str] = {
    # the common flags: the same letter in every task
    "debug": "d",
    "json": "j",
    "profile": "p",
    "service": "s",
    "dry_run": "n",
    "details": "v",
    # the others, by task family
    "date": "D",
    "days": "y",
    "limit": "l",
    "canary": "c",
    "image": "i",
    "model_version": "m",
    "no_rollback": "b",
    "skip_tests": "k",
    "force_unlock": "F",
    "no_record": "R",
    "to": "t",
    "window": "w",
    "markdown": "M",
    "sync_issues": "Y",
    "fetch": "f",
    "against": "a",
    "live": "L",
    "table": "t",
    "check": "c",
    "since": "S",
    "until": "u",
    "golden": "g",
    "from_": "f",
    "from_report": "r",
    "champion": "C",
    "challenger": "H",
    "html": "T",
    "junit": "J",
    "json_file": "o",
    "markdown_file": "A",
    "seed": "e",
    "from_logs": "l",
    "from_env": "E",
    "name": "N",
    "no_test": "x",
    "timeout": "W",
    "query": "q",
    "param": "P",
    "model": "m",
    "predictions": "x",
    "build": "B",
}
_FLAG = inspect.Parameter.POSITIONAL_OR_KEYWORD
COMMON_PARAMETERS = (
    inspect.Parameter("json", _FLAG, default=False, annotation="bool"),
    inspect.Parameter("profile", _FLAG, default=None, annotation="str | None"),
    inspect.Parameter("debug", _FLAG, default=False, annotation="bool"),
)


class NbaopsTask(Task[Any]):
    """An invoke task with the fixed short flags and the functions it calls."""

    calls: tuple[str, ...] = ()

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], short] if short else [opts["names"][0]]
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Any]:
        # Invoke pops each flag's help while building the arguments: keep ours for the
        # next parse (a second Program run, the docs generator) by handing it a copy.
        kept = self.help
        self.help = dict(kept)
        try:
            return list(super().get_arguments(ignore_unknown_help))
        finally:
            self.help = kept

    def __deepcopy__(self, memo: dict[int, Any]) -> NbaopsTask:
        """What invoke's deep copy of a collection's tasks protects (each copy's own flag
        lists and help) without copying what never changes: the functions and their
        signature (a full deep copy of every task took ~3 ms of each ``inv`` start)."""
        clone = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, list | dict | set):
                setattr(clone, name, copy.deepcopy(value, memo))
        return clone


def _empty_flag(flags: Mapping[str, Any], signature: inspect.Signature) -> str | None:
    """The first flag given as an empty (or blank) string where its default is not one (``--to ''``,
    ``--profile ''``, ``--canary ''``): it fell back to the default — a rollback to the
    previous revision, a deploy without its canary — and exited 0."""
    for name, value in flags.items():
        if (
            isinstance(value, str)
            and not value.strip()
            and signature.parameters[name].default != ""
        ):
            return flag_name(name)
    return None


def nbaops_task(
    *calls: str,
    help: Mapping[str, str] | None = None,
    context: bool = True,
    duckdb_ahead: bool = False,
    **options: Any,
) -> Callable[[Callable[..., Any]], NbaopsTask]:
    """Turn ``body(ctx, **own_flags) -> Report`` into an invoke task.

    Args:
        calls: the dotted path(s) of the nbaops function(s) the task runs.
        help: help of the task's own flags; the common flags' help is added (a key here
            overrides it, e.g. the sandbox's ``profile``).
        context: False for a task that needs no profile: ``body(**own_flags)`` returns the
            exit code and no common flag is added (Ctrl-C and errors keep the contract:
            :func:`~nbaops.stdio.run_main`).
        duckdb_ahead: the task reads through DuckDB on every profile: its engine starts in
            the background first thing (:func:`~nbaops.adapters.duckdb_engine.start_connect`),
            while the context is built and the task's modules are imported.
        options: invoke's task options (``name``, ``positional``, ``iterable``, ``default``).
    """

    def decorate(body: Callable[..., Any]) -> NbaopsTask:
        own = list(inspect.signature(body).parameters.values())[1 if context else 0 :]
        takes_json = any(p.name == "json" for p in own)
        own = [p for p in own if p.name != "json"]
        common = COMMON_PARAMETERS if context else ()
        signature = inspect.Signature([inspect.Parameter("c", _FLAG), *own, *common])

        def run_task(*args: Any, **kwargs: Any) -> None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            flags = dict(bound.arguments)
            del flags["c"]
            if duckdb_ahead:
                from nbaops.adapters.duckdb_engine import start_connect

                start_connect()
            if context:
                json_output, profile, debug = (flags.pop(k) for k in ("json", "profile", "debug"))
                if takes_json:
                    flags["json"] = json_output
                empty = _empty_flag({**flags, "profile": profile}, signature)

                def action(ctx: Any) -> Any:
                    return body(ctx, **flags)

                def refuse(_ctx: Any) -> Any:
                    raise UsageError(f"{empty}: an empty value (give one, or leave the flag out)")

                code = run(
                    refuse if empty else action,
                    profile=None if empty else profile,
                    json_output=json_output,
                    debug=debug,
                )
            else:
                code = run_main(lambda: body(**flags))
            if code:
                raise Exit(code=code)

        functools.update_wrapper(run_task, body)  # name, docstring, ``__wrapped__``
        run_task.__signature__ = signature  # type: ignore[attr-defined]
        merged = {**(COMMON_HELP if context else {}), **(help or {})}
        task = NbaopsTask(run_task, help=merged, **options)
        task.calls = calls
        return task

    return decorate
