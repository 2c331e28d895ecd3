"""validate-daily: the pipeline chain of one game day, stage by stage, and where it broke.

The chain is schedule → box scores → features → predictions → grading. Each stage is
measured against the one before it:

- box scores: scheduled games that have box scores;
- features: players with box scores that also had feature rows;
- predictions: players with features *and* a points line (REAL_LINES_ONLY: only they
  can be predicted) that got at least one prediction;
- grading: predictions of players who played (have a box score) that were graded
  (a prediction of a player who did not play is void, never graded).

One query (every table bounded by ``game_date = @game_date``) gives all counts. The
first stage whose completeness is below ``fail_below`` (or that is empty while its
predecessor is not) is where the chain broke.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.alerts.settings import runbook_base_url
from nbaops.checks import schedule_known
from nbaops.checks.measure import Measurement, below_tiers, pct, pct_value
from nbaops.checks.schedule_known import schedule_status, unknown_message
from nbaops.checks.spec import EXAMPLE_DAY, CheckSpec, Key, Query
from nbaops.errors import DamagedStateError
from nbaops.game_state import GAMES_SQL, DayState, et
from nbaops.paths import doc_url
from nbaops.report import CheckReport, format_pct, verdict_part
from nbaops.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

CHAIN = Query(
    "chain",
    """
WITH scheduled AS (
  SELECT DISTINCT game_id
  FROM `nba_raw.games`
  WHERE game_date = @game_date
    AND UPPER(status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
),
box AS (
  SELECT DISTINCT game_id, player_lookup
  FROM `nba_analytics.player_game_summary`
  WHERE game_date = @game_date
),
features AS (
  SELECT DISTINCT player_lookup
  FROM `nba_precompute.ml_feature_store`
  WHERE game_date = @game_date
),
lined AS (
  SELECT DISTINCT player_lookup
  FROM `nba_precompute.points_lines`
  WHERE game_date = @game_date
),
predictions AS (
  SELECT prediction_id, player_lookup
  FROM `nba_predictions.player_prop_predictions`
  WHERE game_date = @game_date
),
graded AS (
  SELECT DISTINCT prediction_id
  FROM `nba_predictions.prediction_accuracy`
  WHERE game_date = @game_date
),
played_predictions AS (
  SELECT p.prediction_id
  FROM predictions AS p
  JOIN (SELECT DISTINCT player_lookup FROM box) AS b ON b.player_lookup = p.player_lookup
),
predictable AS (
  SELECT f.player_lookup FROM features AS f JOIN lined AS l ON l.player_lookup = f.player_lookup
)
SELECT
  (SELECT COUNT(*) FROM scheduled) AS games_scheduled,
  (SELECT COUNT(DISTINCT b.game_id) FROM box AS b
     JOIN scheduled AS s ON s.game_id = b.game_id) AS games_with_box_scores,
  (SELECT COUNT(DISTINCT player_lookup) FROM box) AS box_players,
  (SELECT COUNT(DISTINCT b.player_lookup) FROM box AS b
     JOIN features AS f ON f.player_lookup = b.player_lookup) AS box_players_with_features,
  (SELECT COUNT(*) FROM features) AS feature_players,
  (SELECT COUNT(*) FROM predictable) AS predictable_players,
  (SELECT COUNT(DISTINCT p.player_lookup) FROM predictions AS p
     JOIN predictable AS q ON q.player_lookup = p.player_lookup) AS predicted_players,
  (SELECT COUNT(*) FROM predictions) AS predictions,
  (SELECT COUNT(*) FROM played_predictions) AS played_predictions,
  (SELECT COUNT(*) FROM played_predictions AS p
     JOIN graded AS g ON g.prediction_id = p.prediction_id) AS graded_predictions
""",
    {"game_date": EXAMPLE_DAY - dt.timedelta(days=1)},
)
GAMES = Query("games", GAMES_SQL, {"game_date": EXAMPLE_DAY - dt.timedelta(days=1)})

# Not a system-health check: `inv validate-daily` runs it (nbaops.checks.validate_daily).
SPEC = CheckSpec(
    id="daily_validation",
    service="one stage per service",
    title="the pipeline chain of one game day",
    unit="%",
    keys={
        "fail_below": Key(
            "fraction",
            0.90,
            "A stage covering less than this share of the "
            "stage before it is FAIL (the chain broke there).",
        ),
        "warn_below": Key("fraction", 0.98, "... less than this share is WARN."),
        "game_date": Key("date", "yesterday", "Game day validated (US Eastern)."),
        "game_length": Key(
            "duration", "3h", "Assumed game length: a game finishes this long after its start time."
        ),
        "box_score_grace": Key(
            "duration", "2h", "Box scores of a game are late this long after it finishes."
        ),
        "grading_grace": Key(
            "duration", "6h", "Predictions are late ungraded this long after their game finishes."
        ),
    },
    queries=(CHAIN, GAMES, schedule_known.QUERY),
    playbook="playbooks/validate-daily.md",
    ordered=(("fail_below", "warn_below"),),
)


@dataclass(frozen=True)
class Stage:
    """One link of the chain: its numerator/denominator columns and owning service."""

    name: str
    service: str
    done: str
    of: str
    unit: str
    base: str  # what the denominator counts, for "nothing to compare against"
    # the denominator still grows while the day's games are played (box scores come in
    # after each game); predictions' is complete before the first tip-off, when they are due
    grows_during_games: bool = True

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


STAGES = (
    Stage(
        "box_scores",
        "phase3-processors",
        "games_with_box_scores",
        "games_scheduled",
        "scheduled games with box scores",
        "scheduled games",
    ),
    Stage(
        "features",
        "phase4-processors",
        "box_players_with_features",
        "box_players",
        "players with box scores that had features",
        "players with box scores",
    ),
    Stage(
        "predictions",
        "prediction-worker",
        "predicted_players",
        "predictable_players",
        "players with features and a line that were predicted",
        "players with features and a points line",
        grows_during_games=False,
    ),
    Stage(
        "grading",
        "grading-service",
        "graded_predictions",
        "played_predictions",
        "predictions of players who played graded",
        "predictions of players who played",
    ),
)


def _report(
    title: str,
    checks: list[CheckResult],
    day: dt.date,
    counts: dict[str, int] | None = None,
    broke_at: str | None = None,
    progress: str | None = None,  # "3 of 12 games finished, ..." while the day is in progress
    expected: list[str] | None = None,  # what is still expected, and by when
) -> CheckReport:
    """The chain's stages as check results, plus where it broke (a line under the verdict)."""
    report = CheckReport(title, checks)
    report.extra = {
        "game_date": str(day),
        "broke_at": broke_at,
        "counts": counts or {},
        "in_progress": progress,
        "still_expected": expected or [],
    }
    if broke_at:
        report.after = [[verdict_part(Verdict.FAIL), f" chain broke at: {broke_at}"]]
    elif progress:
        report.after = [[verdict_part(report.verdict), f" day in progress: {progress}"]]
        report.after += [[f"    still expected: {item}"] for item in expected or []]
    elif report.verdict in (Verdict.PASS, Verdict.WARN):
        report.after = [[verdict_part(report.verdict), " chain complete"]]
    return report


SCHEDULE_THRESHOLD = "> 0 games or none"


def _error(ctx: Context, exc: Exception, query: str, threshold: str) -> CheckResult:
    """The one ERROR result of a day that could not be measured: the schedule stage (the
    first), its threshold and the playbook, like every other result."""
    error = CheckResult.error(
        "daily.schedule", "phase3-processors", exc, query=query.strip(), threshold=threshold
    )
    error.doc = SPEC.playbook_doc
    error.doc_url = doc_url(error.doc, runbook_base_url(ctx.config))
    return error


def run(ctx: Context, params: CheckParams) -> CheckReport:
    """Measure each stage of the ``game_date`` parameter against the stage before it.

    A query failure is one ERROR result naming the error (never a PASS).
    """
    day = params.date("game_date")
    fail_below, warn_below = params.fraction("fail_below"), params.fraction("warn_below")
    threshold = f"FAIL < {pct(fail_below)}, WARN < {pct(warn_below)} of the stage before"
    title = f"validate-daily {day}"
    started = time.perf_counter()
    # each query recorded before it runs (a failure names it), their bytes summed
    m = Measurement(ctx, params, "daily.schedule", "phase3-processors")
    m.threshold = threshold
    try:
        chain = m.query(CHAIN, {"game_date": day})
        games_rows = m.query(GAMES, {"game_date": day})
    except DamagedStateError:  # the run's one line (exit 2), as in every check
        raise
    except Exception as exc:
        error = _error(ctx, exc, m.query_text, threshold)
        error.duration_s = round(time.perf_counter() - started, 4)
        return _report(title, [error], day)
    duration = round(time.perf_counter() - started, 4)
    # the chain's counts and the games' times (what is due yet) decide every stage
    queries = m.query_text
    bytes_processed = m.bytes_total if m.bytes_known else None
    counts = {k: int(v or 0) for k, v in chain[0].items()}
    state = DayState.of(
        games_rows,
        clock.now(),
        game_length=params.duration("game_length"),
        box_score_grace=params.duration("box_score_grace"),
        grading_grace=params.duration("grading_grace"),
    )
    doc = SPEC.playbook_doc
    url = doc_url(doc, runbook_base_url(ctx.config))

    def make(
        name: str,
        service: str,
        verdict: Verdict,
        value: float | int | None,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> CheckResult:
        return CheckResult(
            name=f"daily.{name}",
            service=service,
            verdict=verdict,
            value=value,
            threshold=threshold if name != "schedule" else SCHEDULE_THRESHOLD,
            message=message,
            query=queries,
            duration_s=duration,
            bytes_processed=bytes_processed,
            details={"game_date": str(day), **(details or {})},
            unit="%" if name != "schedule" else "games",
            doc=doc,
            doc_url=url,
        )

    games = counts["games_scheduled"]
    if games == 0:
        try:
            schedule = schedule_status(m.query, day)
        except DamagedStateError:
            raise
        except Exception as exc:  # could not measure the schedule: never a PASS
            error = _error(ctx, exc, schedule_known.QUERY.sql, SCHEDULE_THRESHOLD)
            return _report(title, [error], day)
        if schedule.known:
            verdict, message = Verdict.PASS, f"no games scheduled on {day}: nothing to validate"
        else:
            verdict = Verdict.INCONCLUSIVE
            message = unknown_message(schedule, f"games were scheduled on {day}")
        decided = make("schedule", "phase3-processors", verdict, 0, message, schedule.details)
        decided.query = m.query_text  # the schedule query decided it: shown after the chain's
        return _report(title, [decided], day, counts)
    results = [
        make(
            "schedule",
            "phase3-processors",
            Verdict.PASS,
            games,
            f"{games} games scheduled on {day}",
        )
    ]
    broke_at: str | None = None
    expected: list[str] = []
    for stage in STAGES:
        done, of = counts[stage.done], counts[stage.of]
        due, pending = _due(stage.name, state, games, counts)
        if stage.name == "box_scores" and state.in_progress:
            done, of = state.box_scores_due_done, state.box_scores_due
        if pending:
            expected.append(pending)
        details = {"done": done, "of": of, "measures": stage.unit, "due": due}
        value: float | None = None
        if of == 0 and (not due or (state.in_progress and stage.grows_during_games)):
            verdict = Verdict.PASS
            message = f"{stage.title}: nothing due yet" + (
                f"; still expected: {pending}" if pending else f" (no {stage.base})"
            )
        elif of == 0:
            verdict = Verdict.INCONCLUSIVE
            why = f"; chain broke at {broke_at}" if broke_at else ""
            message = f"{stage.title}: nothing to compare against: no {stage.base} on {day}{why}"
        else:
            share, value = done / of, pct_value(done / of, fail_below, warn_below)
            verdict = below_tiers(share, fail_below, warn_below)
            note = ""
            if not due and verdict is Verdict.FAIL:  # short, but not late yet
                verdict, note = Verdict.WARN, f"; not late yet: {pending}"
            if verdict is Verdict.FAIL and broke_at is None:
                broke_at = stage.title
            shown = format_pct(share, fail_below, warn_below)
            message = f"{stage.title}: {done} of {of} {stage.unit} ({shown}, {verdict.value})"
            message += note
        results.append(make(stage.name, stage.service, verdict, value, message, details))
    progress = state.summary() if state.in_progress else None
    return _report(title, results, day, counts, broke_at, progress, expected)


def _due(stage: str, state: DayState, games: int, counts: dict[str, int]) -> tuple[bool, str]:
    """Whether ``stage`` is late if short (may FAIL), and what is still expected of it
    (what has not arrived yet and is not late: never what ``counts`` shows is there)."""
    if stage == "box_scores":
        missing = games - counts["games_with_box_scores"]
        late = state.box_scores_due - state.box_scores_due_done
        waiting = max(missing - late, 0)
        if not waiting:
            return True, ""
        due_by = state.box_scores_due_by
        by = f" by ~{et(due_by, state.now)}" if due_by else ""
        unfinished = games - state.finished
        if not unfinished:  # every game is over; its box scores are within their grace
            return True, f"box scores of {waiting} finished game(s){by}"
        last_end = state.last_end
        ends = f", last game ends ~{et(last_end, state.now)}" if last_end else ""
        return True, f"box scores of {waiting} game(s){by} ({unfinished} not finished yet{ends})"
    if stage == "predictions":
        if state.predictions_due() or state.first_tip is None:
            return True, ""
        return False, f"predictions before the first tip-off at {et(state.first_tip, state.now)}"
    if stage == "grading":
        due_at = state.grading_due_at()
        if state.grading_due() and not state.in_progress:
            return True, ""
        played = counts["played_predictions"]
        if (
            played
            and counts["graded_predictions"] >= played
            and state.finished == len(state.starts)
        ):
            return False, ""  # every game over and every prediction already graded
        if due_at is None:
            return False, "grading after the games finish"
        playing = state.finished < len(state.starts)
        return False, f"grading of finished games by {et(due_at, state.now)}" + (
            ", the rest after their games" if playing else ""
        )
    return True, ""
