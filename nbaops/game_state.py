"""Where a game day stands: which games have started, finished, and which stages are due.

``validate-daily`` uses it so a day in progress is not called broken: a stage is only
*late* (may FAIL) once it is due; before that a shortfall is "still expected" (WARN at
most). A game finishes ``game_length`` after its start; its box scores are due
``box_score_grace`` later; its predictions are due at the day's first tip-off; its
grading is due ``grading_grace`` after the last finished game.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbaops import clock

GAMES_SQL = """
SELECT g.game_id, CONCAT(g.away_team, '@', g.home_team) AS matchup, g.start_time,
       b.game_id IS NOT NULL AS has_box_scores
FROM `nba_raw.games` AS g
LEFT JOIN (
  SELECT DISTINCT game_id
  FROM `nba_analytics.player_game_summary`
  WHERE game_date = @game_date
) AS b ON b.game_id = g.game_id
WHERE g.game_date = @game_date
  AND UPPER(g.status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
ORDER BY g.start_time, g.game_id
"""


def et(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """``19:30 ET``: a moment as US Eastern wall-clock time; ``03:30 ET on 2026-12-03``
    when it falls on another Eastern day than ``now``."""
    local = moment.astimezone(clock.EASTERN)
    text = local.strftime("%H:%M ET")
    if now is not None and local.date() != clock.eastern_date(now):
        text += f" on {local.date().isoformat()}"
    return text


@dataclass(frozen=True)
class DayState:
    """The games of one day against the clock."""

    now: dt.datetime
    starts: tuple[dt.datetime, ...]
    with_box: tuple[bool, ...]
    game_length: dt.timedelta
    box_score_grace: dt.timedelta
    grading_grace: dt.timedelta

    @classmethod
    def of(
        cls,
        rows: Sequence[Mapping[str, Any]],
        now: dt.datetime,
        *,
        game_length: dt.timedelta,
        box_score_grace: dt.timedelta,
        grading_grace: dt.timedelta,
    ) -> DayState:
        ordered = sorted(rows, key=lambda r: clock.as_utc(r["start_time"]))
        starts = tuple(clock.as_utc(r["start_time"]) for r in ordered)
        with_box = tuple(bool(r.get("has_box_scores")) for r in ordered)
        return cls(now, starts, with_box, game_length, box_score_grace, grading_grace)

    @property
    def started(self) -> int:
        return sum(1 for s in self.starts if s <= self.now)

    @property
    def finished(self) -> int:
        return sum(1 for s in self.starts if s + self.game_length <= self.now)

    @property
    def box_scores_due(self) -> int:
        """Games whose box scores are late if missing."""
        return sum(
            1 for s in self.starts if s + self.game_length + self.box_score_grace <= self.now
        )

    @property
    def box_scores_due_done(self) -> int:
        """Games whose box scores are due and present."""
        due = self.game_length + self.box_score_grace
        return sum(
            1 for s, b in zip(self.starts, self.with_box, strict=True) if b and s + due <= self.now
        )

    @property
    def in_progress(self) -> bool:
        """Some game's box scores are not due yet: the day is not over for the pipeline."""
        return self.box_scores_due < len(self.starts)

    @property
    def first_tip(self) -> dt.datetime | None:
        return self.starts[0] if self.starts else None

    @property
    def last_end(self) -> dt.datetime | None:
        return self.starts[-1] + self.game_length if self.starts else None

    @property
    def box_scores_due_by(self) -> dt.datetime | None:
        """When the last game's box scores are due (None: no games)."""
        last_end = self.last_end
        return last_end + self.box_score_grace if last_end else None

    def predictions_due(self) -> bool:
        """Predictions must exist by the first tip-off."""
        return self.first_tip is not None and self.now >= self.first_tip

    def grading_due_at(self) -> dt.datetime | None:
        """When the grading of every finished game is late (None: no game finished)."""
        ends = [s + self.game_length for s in self.starts if s + self.game_length <= self.now]
        return max(ends) + self.grading_grace if ends else None

    def grading_due(self) -> bool:
        due = self.grading_due_at()
        return due is not None and self.now >= due

    def summary(self) -> str:
        """``3 of 12 games finished, 2 in progress, 7 not started (next tip-off 22:00 ET)``
        (times on another day than now carry their date)."""
        total = len(self.starts)
        playing = self.started - self.finished
        waiting = total - self.started
        parts = [f"{self.finished} of {total} games finished"]
        if playing:
            parts.append(f"{playing} in progress")
        if waiting:
            upcoming = next(s for s in self.starts if s > self.now)
            parts.append(f"{waiting} not started (next tip-off {et(upcoming, self.now)})")
        return ", ".join(parts)
