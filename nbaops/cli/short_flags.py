"""One short flag per long flag, across every task.

Invoke picks a short flag from the first free letter of each argument, so the same long
flag got different letters in different tasks (``--debug`` was ``-d`` next to ``--json``
and ``-e`` next to ``--date``). Here the letter of every long flag is declared once;
a flag not listed gets no short form. ``tasks.py`` applies it to the whole collection
(:func:`apply_short_flags`); ``tests/static/test_short_flags.py`` keeps it complete
and collision-free.
"""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.tasks import Task

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


class FixedShortFlags(Task[Any]):
    """A task whose short flags come from :data:`SHORT_FLAGS` (none when unlisted)."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        long_name = opts["names"][0]
        short = SHORT_FLAGS.get(name)
        opts["names"] = [long_name, short] if short else [long_name]
        return opts


def apply_short_flags(collection: Collection) -> Collection:
    """Give every task of ``collection`` (and its sub-collections) the fixed short flags."""
    for task in collection.tasks.values():
        if isinstance(task, Task) and not isinstance(task, FixedShortFlags):
            task.__class__ = FixedShortFlags
    for sub in collection.collections.values():
        apply_short_flags(sub)
    return collection
