"""A heartbeat line while a step may take long: what it waits for, elapsed, and the deadline.

Any step that can take longer than a few seconds (a test run, a Cloud Build, a Cloud Run
request or operation, a BigQuery job) runs inside :func:`heartbeat`. If it is still
running after ``interval_s`` (10 s), one line goes to stderr, and again every interval::

    nbaops: still waiting for Cloud Run get prediction-worker: 20s elapsed,
    deadline 30s (at 14:02:41 UTC)            <- one line, wrapped here only


stdout is untouched (``--json`` stays one document). A step that finishes within the
interval prints nothing. The clock and the wait are injectable, so tests never sleep.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nbaops.stdio import stderr_line

INTERVAL_S = 10.0

Sink = Callable[[str], None]


def beat_line(what: str, elapsed_s: float, deadline_s: float | None, started: dt.datetime) -> str:
    """One heartbeat line; the deadline as a duration and as a wall-clock time (UTC)."""
    line = f"nbaops: still waiting for {what}: {elapsed_s:.0f}s elapsed"
    if deadline_s is not None:
        at = (started + dt.timedelta(seconds=deadline_s)).strftime("%H:%M:%S UTC")
        line += f", deadline {deadline_s:g}s (at {at})"
    return line


@contextmanager
def heartbeat(
    what: str,
    deadline_s: float | None = None,
    *,
    interval_s: float = INTERVAL_S,
    sink: Sink | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    wall: Callable[[], dt.datetime] | None = None,
    wait: Callable[[threading.Event, float], bool] | None = None,
) -> Iterator[list[str]]:
    """Print a heartbeat every ``interval_s`` while the body runs; yields the lines printed.

    Args:
        what: what is being waited for ("tests: pytest tests/unit -q").
        deadline_s: the step's own limit (a timeout), shown with every line.
        interval_s: seconds between lines (at most 10 s by the team's rule).
        sink: where lines go (default stderr).
        monotonic, wall, wait: injectable clock and wait (tests never sleep).
    """
    from nbaops import clock

    write = sink or stderr_line
    started_wall = (wall or clock.now)().astimezone(dt.UTC)
    started = monotonic()
    stop = threading.Event()
    lines: list[str] = []
    waiter = wait or (lambda event, seconds: event.wait(seconds))

    def beat() -> None:
        while not waiter(stop, interval_s):
            line = beat_line(what, monotonic() - started, deadline_s, started_wall)
            lines.append(line)
            write(line)

    thread = threading.Thread(target=beat, name="nbaops-heartbeat", daemon=True)
    thread.start()
    try:
        yield lines
    finally:
        stop.set()
        thread.join(timeout=1.0)
