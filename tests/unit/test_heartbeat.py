"""Heartbeat lines during long steps: what is awaited, elapsed time, the deadline. No sleeps."""

from __future__ import annotations

import datetime as dt
import threading

from nbaops.heartbeat import INTERVAL_S, beat_line, heartbeat

START = dt.datetime(2026, 1, 14, 14, 0, 0, tzinfo=dt.UTC)


class FakeTime:
    """A monotonic clock the fake wait advances: ``beats`` intervals pass, then it blocks."""

    def __init__(self, beats: int) -> None:
        self.now = 0.0
        self.beats = beats
        self.waits: list[float] = []
        self.done = threading.Event()

    def monotonic(self) -> float:
        return self.now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        if self.beats and not stop.is_set():
            self.beats -= 1
            self.now += seconds
            if not self.beats:
                self.done.set()
            return False
        self.done.set()
        stop.wait()  # released when the body ends; never a real interval
        return True


def test_a_long_step_prints_a_line_every_interval_with_the_deadline() -> None:
    fake = FakeTime(beats=3)
    printed: list[str] = []
    with heartbeat(
        "tests: pytest tests/unit -q",
        61,
        sink=printed.append,
        monotonic=fake.monotonic,
        wall=lambda: START,
        wait=fake.wait,
    ) as lines:
        assert fake.done.wait(5)  # the body "runs" while three intervals pass
    assert printed == lines
    assert printed == [
        f"nbaops: still waiting for tests: pytest tests/unit -q: {n}s elapsed, "
        "deadline 61s (at 14:01:01 UTC)"
        for n in (10, 20, 30)
    ]
    assert set(fake.waits) == {INTERVAL_S} and INTERVAL_S <= 10


def test_a_quick_step_prints_nothing() -> None:
    fake = FakeTime(beats=0)
    printed: list[str] = []
    with heartbeat("Cloud Run get x", 30, sink=printed.append, wait=fake.wait):
        pass
    assert printed == []


def test_line_without_a_deadline() -> None:
    assert (
        beat_line("a build", 12.4, None, START) == "nbaops: still waiting for a build: 12s elapsed"
    )
