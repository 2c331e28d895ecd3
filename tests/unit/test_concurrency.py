"""The one concurrency runner: input order kept, every call finished before an error."""

from __future__ import annotations

import threading

import pytest

from nbaops.concurrency import map_concurrently


def test_results_come_back_in_input_order_and_calls_overlap() -> None:
    barrier = threading.Barrier(3, timeout=5)  # only passes if three calls run at once

    def call(n: int) -> int:
        barrier.wait()
        return n * n

    assert map_concurrently(call, [3, 1, 2], max_workers=3) == [9, 1, 4]
    assert map_concurrently(call, []) == []


def test_the_first_error_is_raised_after_every_call_finished() -> None:
    finished: list[int] = []

    def call(n: int) -> int:
        if n == 0:
            raise ValueError("boom")
        finished.append(n)
        return n

    with pytest.raises(ValueError, match="boom"):
        map_concurrently(call, [0, 1, 2, 3], max_workers=2)
    assert sorted(finished) == [1, 2, 3]
