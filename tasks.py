"""nbaops tasks: `inv --list` shows them, `inv --help TASK` explains each flag.

This file only wires the task collections of ``nbaops.cli`` (each module's ``ns``; an
unnamed one holds top-level tasks). No Google client is imported here or by those modules
at import time, so `inv --list` stays fast.
"""

from __future__ import annotations

from nbaops.cli.program import adopt_running_program, loading_tasks

# `inv` parses the tasks' flags after loading this file: bad flags, values and task names
# then exit 2 with one line (and a JSON document with --json), like every other usage error.
# Before the task modules load: it also lets Python cache their bytecode again.
adopt_running_program()

with loading_tasks():  # Ctrl-C while they load: 130, as in a task (see loading_tasks)
    from nbaops.cli import namespace

    ns = namespace()
