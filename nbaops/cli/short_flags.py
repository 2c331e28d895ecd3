"""One short flag per long flag, across every task.

Invoke picks a short flag from the first free letter of each argument, so the same long
flag got different letters in different tasks (``--debug`` was ``-d`` next to ``--json``
and ``-e`` next to ``--date``). Here the letter of every long flag is declared once;
a flag not listed gets no short form. Every task built by
:func:`nbaops.cli.task.nbaops_task` uses it; ``tests/static/test_short_flags.py`` keeps it
complete and collision-free.
"""

from __future__ import annotations

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
