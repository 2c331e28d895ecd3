"""The one fake clock for code that takes ``sleep`` and ``monotonic``: time moves only when
``sleep`` is called, so a wait's deadline passes at once and nothing really sleeps.

With ``wall`` the fake sleep moves nbaops' clock too (``NBAOPS_NOW``, which the stand-in
reads for resource times and for which Cloud Monitoring points are visible yet): a
canary deploy on this clock sees its metrics arrive as they would in prod."""

from __future__ import annotations

import datetime as dt
import os


class FakeClock:
    """``monotonic`` advances only by ``sleep``; ``slept`` lists every sleep asked for.

    ``wall``: the ``NBAOPS_NOW`` at ``start``; each sleep sets ``NBAOPS_NOW`` to it plus
    the fake time slept (the test's monkeypatch restores the variable afterwards).
    """

    def __init__(self, start: float = 1000.0, wall: dt.datetime | None = None) -> None:
        self.start = start
        self.now = start
        self.wall = wall
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.wall is not None:
            moment = self.wall + dt.timedelta(seconds=self.now - self.start)
            os.environ["NBAOPS_NOW"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
