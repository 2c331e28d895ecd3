"""SIGTERM and SIGHUP during a deploy, rollback or verify-deploy (which may recover an
interrupted deploy), handled like Ctrl-C.

``timeout``, containers, CI cancellation and a closed terminal send SIGTERM or SIGHUP,
not SIGINT. :func:`terminate_as_interrupt` turns them into :class:`Terminated` (a
``KeyboardInterrupt``), so the deploy's Ctrl-C path runs: restore the previous traffic,
verify it, write the ``interrupted`` audit row, release the lease — and the task exits 3
(``Terminated.exit_code``). A second signal interrupts that restore; the deploy then
reports the exact traffic it left and keeps the journal, so the next command recovers.
Later signals are ignored (counted) so the report and the audit row still get written.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from nbaops.errors import EXIT_UNDETERMINED

HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal (exit 3 once the deploy cleaned up)."""

    exit_code = EXIT_UNDETERMINED

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(self.signal_name)


def signal_name(exc: BaseException, default: str = "Ctrl-C") -> str:
    """The signal behind an interrupt (``default`` for a plain KeyboardInterrupt)."""
    return str(getattr(exc, "signal_name", None) or default)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[list[str]]:
    """Within the block, SIGTERM/SIGHUP raise :class:`Terminated` (at most twice).

    Yields the list of signals received. Outside the main thread it does nothing (Python
    delivers signals to the main thread only).
    """
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        if len(received) <= 2:
            raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in HANDLED}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
