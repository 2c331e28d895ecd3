"""One parse-error path for every task: Invoke's parser errors become one line and exit 2.

Invoke's :class:`~invoke.program.Program` prints a :class:`~invoke.exceptions.ParseError`
and exits 1, and a typed flag that does not cast (``--limit abc``) escapes as a
``ValueError`` traceback. :class:`NbaopsProgram` catches both while the command line is
parsed and reports them like any other usage error (:func:`nbaops.cli.runner.usage_exit`):
``nbaops: error: ...`` on stderr, a JSON document on stdout with ``--json``, exit 2.

``tasks.py`` calls :func:`adopt_running_program` so the stock ``inv`` command gets the
same behaviour: Invoke loads ``tasks.py`` (``parse_collection``) before it parses the
tasks' flags (``parse_tasks``), so switching the running program's class at that moment
covers unknown tasks, unknown flags, missing values and bad types. (Errors in Invoke's
own core flags, parsed before ``tasks.py`` loads, keep Invoke's handling.)
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, cast

from invoke.exceptions import Exit, ParseError
from invoke.parser import Parser
from invoke.parser.context import ParserContext
from invoke.program import Program

from nbaops.cli.flags import flag_name
from nbaops.errors import first_line

HELP_FLAGS = ("-h", "--help")
_UNKNOWN = re.compile(r"^No idea what '(.*)' is!\Z")
_NO_VALUE = re.compile(r"^Flag <Argument: (\w+)")
_SHORT_CLUSTER = re.compile(r"^-[A-Za-z]+\Z")
_NO_POSITIONAL = re.compile(r"^'(.+)' did not receive required positional arguments: '(\w+)'")


# Invoke's --list-format values (Program.list_flat, list_nested, list_json).
LIST_FORMATS = ("flat", "nested", "json")


def _message(exc: BaseException) -> str:
    """Invoke's parse error as one line a person understands."""
    first = first_line(exc)[:200]
    if isinstance(exc, ParseError):
        unknown = _UNKNOWN.match(first)
        if unknown:
            return (
                f"unknown task or flag {unknown.group(1)[:60]!r} "
                "(`inv --list` shows the tasks, `inv --help TASK` a task's flags)"
            )
        no_value = _NO_VALUE.match(first)
        if no_value:
            return f"{flag_name(no_value.group(1))} needs a value"
        no_positional = _NO_POSITIONAL.match(first)
        if no_positional:
            task, flag = no_positional.group(1), flag_name(no_positional.group(2))[2:]
            return (
                f"{task} needs its {flag} (`inv {task} {flag.upper()}` or --{flag}; "
                f"`inv --help {task}` explains it)"
            )
        return first
    return f"bad flag value: {first}"


def _asks_for_json(arg: str) -> bool:
    """``--json``, ``-j`` or a cluster of short flags holding it (``-dj``, as Invoke reads)."""
    return arg == "--json" or bool(_SHORT_CLUSTER.match(arg) and "j" in arg)


@contextlib.contextmanager
def interruption_exits(argv: Sequence[str] = ()) -> Iterator[None]:
    """Ctrl-C in the block (outside a task's runner: ``tasks.py`` loading the task modules,
    Invoke parsing the flags, printing ``--list``, setting a task up) ends as in a task's
    runner: one line, the JSON document ``argv`` asks for, exit 130 (as Invoke's
    :class:`~invoke.exceptions.Exit`). Invoke's ``run`` turned it into exit 1 ("a check
    failed"), silently."""
    try:
        yield
    except KeyboardInterrupt as exc:
        from nbaops.cli.runner import interrupted

        json_output = any(_asks_for_json(a) for a in argv)
        raise Exit(code=interrupted(exc, json_output=json_output)) from None


class NbaopsProgram(Program):
    """Invoke's program with parse errors mapped to the usage contract (exit 2), a parser
    built for the tasks the command line names and, when it is the process's own program
    (``ends_process``), an exit without Python's teardown once the tasks ran."""

    ends_process = False  # set by adopt_running_program: the stock `inv` of this process

    def execute(self) -> None:
        """Run the tasks; as the process's own program, end the process with their exit
        code (:func:`nbaops.cli.process_end.end_process`) instead of returning to
        Invoke's ``sys.exit``. Anything but a task's :class:`~invoke.exceptions.Exit` (an
        unexpected error, Ctrl-C outside a task's runner) takes Invoke's usual path."""
        from nbaops.cli.process_end import can_end_early, end_process

        if not (self.ends_process and can_end_early()):
            with self._interrupt_exits():
                super().execute()
            return
        try:
            with self._interrupt_exits():
                super().execute()
        except Exit as exc:
            if exc.message:  # as Invoke's run() prints it, masked and escaped
                from nbaops.stdio import stderr_line

                stderr_line(exc.message)
            end_process(int(exc.code or 0))  # sys.exit(None) is 0 too
        end_process(0)

    def _make_parser(self) -> Parser:
        """Invoke's parser, with parser contexts only for the tasks the command line names.

        Invoke builds the context (every flag) of every task to parse one command line:
        ~20 ms of each ``inv`` run. A task is invoked, or its help shown, only by its name
        or an alias given as a whole argument (or as ``--help=NAME``), and a word that is
        no context's name parses the same whatever other contexts exist, so the others
        are left out. Shell completion still gets every task.
        """
        if self.args.complete.value:
            return super()._make_parser()
        words: set[str] = set()
        for arg in [*(getattr(self, "argv", None) or []), *self.core.unparsed]:
            words.update((arg, arg.partition("=")[2]))
        ignore = self.config.tasks.ignore_unknown_help
        contexts = [
            ParserContext(
                name=primary,
                aliases=aliases,
                args=self.collection[primary].get_arguments(ignore_unknown_help=ignore),
            )
            for primary, aliases in self.collection.task_names.items()
            if primary in words or words.intersection(aliases)
        ]
        return Parser(initial=self.initial_context, contexts=contexts)

    def _argv(self) -> list[str]:
        argv = list(getattr(getattr(self, "core", None), "unparsed", None) or [])
        return argv + list(getattr(self, "argv", None) or [])

    def _usage(self, exc: BaseException) -> None:
        from nbaops.cli.runner import usage_exit

        usage_exit(_message(exc), json_output=any(_asks_for_json(a) for a in self._argv()))

    def _interrupt_exits(self) -> contextlib.AbstractContextManager[None]:
        """Ctrl-C in the block: :func:`interruption_exits`."""
        return interruption_exits(self._argv())

    def parse_tasks(self) -> None:
        from nbaops.cli.runner import start_document

        start_document()  # the command's one --json document is still to come
        with self._interrupt_exits():
            self._parse_tasks()

    def _parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except (ParseError, ValueError) as exc:
            self._usage(exc)
        # Invoke gives the token after a task name to the task's missing positional
        # argument, even ``--help``: ``inv sandbox.sql --help`` ran the SQL "--help" (a
        # comment). A help flag in a positional's place asks for the task's help.
        for task in self.tasks:
            if any(arg.value in HELP_FLAGS for arg in task.positional_args):
                self.args.help.value = task.name
                break

    def parse_cleanup(self) -> None:
        with self._interrupt_exits():
            self._parse_cleanup()

    def _parse_cleanup(self) -> None:
        list_format = self.args["list-format"].value
        if self.args.list.value and list_format not in LIST_FORMATS:  # Invoke: AttributeError
            given, choices = str(list_format)[:40], ", ".join(LIST_FORMATS)
            self._usage(ParseError(f"--list-format: {given!r} is not one of {choices}"))
        try:
            super().parse_cleanup()
        except (ParseError, ValueError) as exc:
            self._usage(exc)
        except OSError as exc:  # `inv --list | head`: help and lists exit 0 as usual
            from nbaops.stdio import lost, settle

            lost(sys.stdout, exc)
            raise Exit(code=settle(0)) from None
        except Exit as exc:  # --list, --help TASK printed: was all of it written?
            from nbaops.stdio import settle

            if exc.message:  # Invoke's own ("Sub-collection 'X' not found!", --list-depth
                # with JSON): bad input on the command line, exit 2 with one line (masked,
                # escaped: it quotes the command line), not Invoke's 1 ("a check failed")
                self._usage(ParseError(exc.message))
            code = settle(exc.code)
            if code != exc.code:
                raise Exit(code=code) from None
            raise


def loading_tasks() -> contextlib.AbstractContextManager[None]:
    """The guard around ``tasks.py``'s import of the task modules.

    In the load ``inv`` itself makes (its program runs: argv set, no collection yet), a
    Ctrl-C is :func:`interruption_exits` (130, not Invoke's silent 1). When ``tasks.py``
    is read as data (:mod:`nbaops.docs_reference`, also under ``inv docs.reference``), the
    interrupt is the reader's, so nothing is guarded.
    """
    import invoke.main

    program: Any = invoke.main.program
    if program.argv and not hasattr(program, "collection"):
        return interruption_exits(program.argv)
    return contextlib.nullcontext()


def adopt_running_program() -> None:
    """Give the stock ``inv`` program (``invoke.main.program``) the nbaops parse-error path.

    Only an exact :class:`~invoke.program.Program` is switched (its class has no state of
    its own, so the switch keeps every attribute); any other program is left alone.

    It makes the standard streams safe first (:func:`nbaops.stdio.prepare`), and gives
    back Python's own bytecode setting: Invoke turns writing ``.pyc`` files
    off for every process (its ``--write-pyc`` flag, so ``tasks.py`` leaves none behind),
    which made each ``inv`` run compile every nbaops module it imported from source again
    (~0.3 s CPU for ``inv system-health``). ``-B`` and ``PYTHONDONTWRITEBYTECODE`` still
    turn it off. Call it before the task modules are imported.

    The adopted program is the process's own: once its tasks ran it ends the process
    without Python's teardown (:mod:`nbaops.cli.process_end`).
    """
    import invoke.main

    from nbaops import stdio

    stdio.prepare()  # closed, narrow-encoding or broken-pipe streams: see nbaops.stdio
    sys.dont_write_bytecode = bool(sys.flags.dont_write_bytecode)

    running: Any = invoke.main.program
    if type(running) is Program:
        running.__class__ = NbaopsProgram
        cast(NbaopsProgram, running).ends_process = True
