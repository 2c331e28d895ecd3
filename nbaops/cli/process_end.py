"""How an ``inv`` process ends once its tasks ran: everything an exit must do, then the exit
itself, without Python's teardown of the objects the process no longer needs.

After the last exit handler, Python tears the interpreter down object by object: each
module's namespace is cleared and the garbage collector walks what is left, several
times. For ``inv system-health`` that teardown took ~60 ms of a 0.42 s run (15%; perf:
``gc_collect_main`` and ``visit_decref`` under the finalizer, then freeing memory), time
a user waits for and the kernel would spend reclaiming the same memory in one step.
Instagram's Django workers end this way for the same reason ("Dismissing Python Garbage
Collection at Instagram", 2017: ``atexit.register(os._exit, 0)``).

:func:`end_process` keeps every step an exit is for, in Python's own order
(``Py_FinalizeEx``): it waits for the non-daemon threads (``threading._shutdown``, which
also stops ``concurrent.futures`` workers), runs the ``atexit`` handlers (logging's
flush, ``weakref.finalize`` callbacks such as a ``TemporaryDirectory``'s removal, the
local warehouse's :func:`~nbaops.adapters.duckdb_files.interrupt_all`), flushes the
standard streams (Python's, and the C library's buffers that ``exit()`` would have
flushed) and leaves with the code. What it skips is ``__del__`` of objects still
alive at exit: a file nbaops writes is closed by its ``with`` block or replaced whole by
:mod:`nbaops.fsutil`, a DuckDB file is detached (checkpointed) when its last operation
ends and its committed transactions are in its write-ahead log before that, and the
kernel closes sockets and releases file locks. A daemon thread still running is stopped
at once instead of being frozen by the finalizer (which is also what made a daemon
thread inside DuckDB abort the process during teardown).

Only the stock ``inv`` program ends the process this way
(:func:`nbaops.cli.program.adopt_running_program`); a program run inside another process
(the tests, a caller's ``Program(...).run()``) returns as before, and so does a run in
Python's development mode (``-X dev``), whose teardown reports unclosed resources.
The decision and its consequences: ``docs/adr/0012-process-end-without-teardown.md``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def can_end_early() -> bool:
    """Whether this interpreter offers the steps :func:`end_process` takes (CPython's
    ``threading._shutdown`` and ``atexit._run_exitfuncs``) and is not in development
    mode, whose teardown is the point."""
    return (
        not sys.flags.dev_mode
        and callable(getattr(threading, "_shutdown", None))
        and callable(getattr(atexit, "_run_exitfuncs", None))
    )


def end_process(code: int) -> NoReturn:
    """Do what Python's exit does before its teardown, then exit with ``code`` at once.

    Call it from the main thread, after the work: non-daemon threads are waited for,
    exit handlers run (an exception in one is printed and the others still run, as at a
    normal exit) and the standard streams are flushed first.
    """
    from nbaops.stdio import flush_everything

    threading._shutdown()  # type: ignore[attr-defined]  # Py_FinalizeEx's first step
    atexit._run_exitfuncs()
    flush_everything()  # Python's streams, and C's stdio as the C library's exit() would
    os._exit(code)
