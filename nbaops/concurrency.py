"""The one concurrency runner for independent calls (kernel).

Cloud and git reads that do not depend on each other run in threads; results come back in
input order, and the first exception is raised once every call has finished (nothing is
left running). Check runs, which need a per-check timeout, use
:func:`nbaops.checks.run_planned` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_concurrently(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    max_workers: int = 8,
    name: str = "nbaops",
    on_interrupt: Callable[[], None] | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, at most ``max_workers`` at a time, in input order.

    A Ctrl-C (or a SIGTERM raised as one) while waiting still waits for the calls under
    way; ``on_interrupt`` is called first, to make them end soon (stop a subprocess).
    """
    if not items:
        return []
    workers = max(1, min(max_workers, len(items)))
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            if on_interrupt is not None:
                on_interrupt()
            raise
