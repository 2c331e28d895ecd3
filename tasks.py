"""nbaops tasks: `inv --list` shows them, `inv --help TASK` explains each flag.

This file only wires the task collections of ``nbaops.cli`` (each module's ``ns``; an
unnamed one holds top-level tasks). No Google client is imported here or by those modules
at import time, so `inv --list` stays fast.
"""

from __future__ import annotations

import contextlib

import invoke.main

from nbaops.cli.program import adopt_running_program, interruption_exits

# `inv` parses the tasks' flags after loading this file: bad flags, values and task names
# then exit 2 with one line (and a JSON document with --json), like every other usage error.
# Before the task modules load: it also lets Python cache their bytecode again.
adopt_running_program()

# Ctrl-C while they load: 130, not Invoke's silent 1. Only in the load `inv` itself makes
# (its program runs, argv set, and has no collection yet): read as data
# (nbaops.docs_reference, also under `inv docs.reference`), the interrupt is the reader's.
_program = invoke.main.program
_loading = bool(_program.argv) and not hasattr(_program, "collection")
with interruption_exits(_program.argv) if _loading else contextlib.nullcontext():
    from nbaops.cli import namespace

    ns = namespace()
