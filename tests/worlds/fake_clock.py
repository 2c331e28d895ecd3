"""The one fake clock for code that takes ``sleep`` and ``monotonic``: time moves only when
``sleep`` is called, so a wait's deadline passes at once and nothing really sleeps."""

from __future__ import annotations


class FakeClock:
    """``monotonic`` advances only by ``sleep``; ``slept`` lists every sleep asked for."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
