"""Recent predictions (prediction-worker): predictions of the last ``window`` per model.

What to expect comes from the coordinator's batches and the schedule: every batch that
started in the window (and had time to finish) expects ``expected_players`` predictions
from every model version seen in the ``baseline_days`` before the window. With no batch in the
window, predictions are only expected when a batch slot (02:30, 07:00, 11:30 ET) fell due
on a day with games: then their absence is a FAIL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.checks import schedule_known
from nbaops.checks.measure import Measurement, below_tiers, duration_text, jsonable, pct, pct_value
from nbaops.checks.spec import EXAMPLE_DAY, EXAMPLE_NOW, SLOT_PATTERN, CheckSpec, Key, Query
from nbaops.report import format_pct
from nbaops.verdict import CheckResult, Finding, Verdict, worst

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

_SINCE = EXAMPLE_NOW - dt.timedelta(hours=2)
_DAY = dt.timedelta(days=1)

BATCHES = Query(
    "batches",
    """
SELECT batch_id, scheduled_slot, status, started_at, completed_at, expected_players,
       predictions_written
FROM `nba_predictions.prediction_batches`
WHERE game_date BETWEEN @from_date AND @to_date
  AND started_at >= @since AND started_at <= @now
ORDER BY started_at
""",
    {
        "from_date": EXAMPLE_DAY - _DAY,
        "to_date": EXAMPLE_DAY + _DAY,
        "since": _SINCE,
        "now": EXAMPLE_NOW,
    },
)

PREDICTIONS = Query(
    "predictions",
    """
SELECT system_id, batch_id,
       COUNTIF(created_at >= @since) AS recent,
       COUNTIF(created_at < @since) AS baseline
FROM `nba_predictions.player_prop_predictions`
WHERE game_date BETWEEN @baseline_from AND @to_date
  AND created_at <= @now
GROUP BY system_id, batch_id
ORDER BY system_id, batch_id
""",
    {
        "baseline_from": EXAMPLE_DAY - 3 * _DAY,
        "to_date": EXAMPLE_DAY + _DAY,
        "since": _SINCE,
        "now": EXAMPLE_NOW,
    },
)

GAMES = Query(
    "games",
    """
SELECT COUNT(*) AS games
FROM `nba_raw.games`
WHERE game_date = @game_date
  AND UPPER(status) NOT IN ('POSTPONED', 'CANCELLED', 'CANCELED')
""",
    {"game_date": EXAMPLE_DAY},
)

SPEC = CheckSpec(
    id="recent_predictions",
    service="prediction-worker",
    title="predictions per model, last 2h",
    # one unit for every outcome: check_results keeps the values as one history (anomaly
    # notes compare them); outcomes without an expected count have no value (the count
    # of predictions is in the message and details["predictions"])
    unit="% of expected",
    keys={
        "window": Key("duration", "2h", "Look-back window for predictions and batches."),
        "batch_slots": Key(
            "texts",
            ["02:30", "07:00", "11:30"],
            "Coordinator batch times (HH:MM, US Eastern).",
            pattern=SLOT_PATTERN,
        ),
        "slot_grace": Key("duration", "30m", "A batch slot is due this long after its time."),
        "baseline_days": Key(
            "integer",
            3,
            "Model versions seen in this many previous days are expected in every batch.",
            maximum=366,
            minimum=1,
        ),
        "fail_below": Key(
            "fraction",
            0.50,
            "A model version with fewer predictions than this "
            "share of the batches' expected players is FAIL.",
        ),
        "warn_below": Key("fraction", 0.90, "... below this share is WARN."),
    },
    queries=(BATCHES, PREDICTIONS, GAMES, schedule_known.QUERY),
    playbook="playbooks/recent-predictions.md",
    ordered=(("fail_below", "warn_below"),),
)


def due_slots(
    now: dt.datetime, since: dt.datetime, slots: list[str], grace: dt.timedelta
) -> list[dt.datetime]:
    """Batch slot times (UTC) that fell in ``[since, now - grace]``.

    A slot in the hour skipped when daylight saving starts is never due (a wall-clock
    scheduler may not run it; see :func:`nbaops.clock.eastern_wall_time`), so 02:30 on that
    Sunday is no false FAIL. Every day the window touches is looked at (a ``window`` of
    days reaches slots before yesterday).
    """
    out: list[dt.datetime] = []
    first = clock.eastern_date(since)
    for offset in range((clock.eastern_date(now) - first).days + 1):
        day = first + dt.timedelta(days=offset)
        for slot in slots:
            at = clock.eastern_wall_time(day, dt.time.fromisoformat(slot))  # HH:MM
            if at is not None and since <= at <= now - grace:
                out.append(at)
    return sorted(out)


def _owed_text(owed: list[dt.datetime], games_on: dict[dt.date, int], today: dt.date) -> str:
    """ "the 07:00 ET, 11:30 ET batch was due with 5 games today", per day of the slots."""
    parts = []
    for day in sorted({clock.eastern_date(s) for s in owed}):
        times = ", ".join(
            s.astimezone(clock.EASTERN).strftime("%H:%M ET")
            for s in owed
            if clock.eastern_date(s) == day
        )
        when = "today" if day == today else f"on {day}"
        parts.append(f"the {times} batch was due with {games_on[day]} games {when}")
    return " and ".join(parts)


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Compare predictions created in the window, per model version, with the batches."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    now = clock.now()
    window = params.duration("window")
    since = now - window
    grace = params.duration("slot_grace")
    today = clock.eastern_date(now)
    from_date = clock.eastern_date(since) - dt.timedelta(days=1)
    # the baseline days before the window's first day: never after the batches' first
    # game date, whose predictions a window of days would otherwise miss
    baseline_from = clock.eastern_date(since) - dt.timedelta(days=params.integer("baseline_days"))
    to_date = today + dt.timedelta(days=1)
    fail_below, warn_below = params.fraction("fail_below"), params.fraction("warn_below")
    m.threshold = f"per model FAIL < {pct(fail_below)}, WARN < {pct(warn_below)} of expected"
    window_text = duration_text(window)

    batches = m.query(
        BATCHES, {"from_date": from_date, "to_date": to_date, "since": since, "now": now}
    )
    per_model = m.query(
        PREDICTIONS,
        {"baseline_from": baseline_from, "to_date": to_date, "since": since, "now": now},
    )
    games_today = int(m.query(GAMES, {"game_date": today})[0]["games"])

    recent: Counter[str] = Counter()
    for r in per_model:
        recent[r["system_id"]] += int(r["recent"] or 0)
    models = sorted(
        {r["system_id"] for r in per_model if int(r["baseline"] or 0) or int(r["recent"] or 0)}
    )
    total_recent = sum(recent.values())
    slots = due_slots(now, since, params.texts("batch_slots"), grace)
    details: dict[str, Any] = {
        "window": window_text,
        "since": since.isoformat(),
        "games_today": games_today,
        "batches": [jsonable(b) for b in batches],
        "models": {k: recent[k] for k in models},
        "predictions": total_recent,
        "due_slots": [s.astimezone(clock.EASTERN).strftime("%H:%M ET") for s in slots],
    }
    by_model = ", ".join(f"{k} {recent[k]}" for k in models) or "none"

    def outcome(verdict: Verdict, message: str, value: float | None = None) -> CheckResult:
        """A result with this run's threshold and details (value: the lowest model's share
        of the expected predictions, when the batches state an expected count)."""
        return m.result(verdict, value, message, details)

    if not batches:
        # a slot is owed on a day with games: a long window reaches yesterday's slots
        games_on = {today: games_today}
        for day in sorted({clock.eastern_date(s) for s in slots} - {today}):
            games_on[day] = int(m.query(GAMES, {"game_date": day})[0]["games"])
        owed = [s for s in slots if games_on[clock.eastern_date(s)]]
        if owed:
            return outcome(
                Verdict.FAIL,
                f"no prediction batch in the last {window_text} although "
                f"{_owed_text(owed, games_on, today)} "
                f"({total_recent} predictions: {by_model}) (FAIL)",
            )
        so_far = f"{total_recent} predictions in the last {window_text} ({by_model})"
        if not games_today:
            return m.no_games_result(
                today,
                what="a prediction batch was due today",
                none_message=f"no games scheduled today; {so_far}",
                details=details,
                now=now,
            )
        return outcome(Verdict.PASS, f"no batch due in the last {window_text}; {so_far}")

    # A batch that started less than slot_grace ago and is still running owes nothing yet.
    settled = [
        b
        for b in batches
        if clock.as_utc(b["started_at"]) <= now - grace or b["completed_at"] is not None
    ]
    if not settled:
        running = ", ".join(f"{b['batch_id']} ({b['scheduled_slot']} ET)" for b in batches)
        return outcome(
            Verdict.PASS,
            f"nothing due yet: batch {running} started less than "
            f"{duration_text(grace)} ago and is still running; {total_recent} "
            f"predictions so far ({by_model})",
        )
    stated = [b for b in settled if b["expected_players"] is not None]
    # what a model wrote is judged against the batches that state what they expect: a
    # batch without a count cannot make up for one that wrote nothing
    judged = {b["batch_id"] for b in stated or settled}
    written: Counter[str] = Counter()
    for r in per_model:
        if r["batch_id"] in judged:
            written[r["system_id"]] += int(r["recent"] or 0)
    if not stated:
        missing = [k for k in models if not written[k]]
        if models and not missing:
            return outcome(
                Verdict.PASS,
                f"{total_recent} predictions in the last {window_text} "
                f"({by_model}); the batches state no expected count",
            )
        return outcome(
            Verdict.INCONCLUSIVE,
            f"too little data: {len(settled)} batch(es) in the last {window_text} "
            f"state no expected player count and {total_recent} predictions "
            f"({by_model}) cannot be judged",
        )
    expected = sum(int(b["expected_players"]) for b in stated)
    details["expected_per_model"] = expected
    if expected == 0:
        return outcome(
            Verdict.PASS,
            f"{len(settled)} batch(es) in the last {window_text} had no new or "
            f"moved lines to predict ({total_recent} predictions)",
        )
    if not models:
        return outcome(
            Verdict.FAIL,
            f"{len(settled)} batch(es) in the last {window_text} expected "
            f"{expected} predictions per model but no model version wrote any "
            "(FAIL)",
            value=0.0,
        )
    ratios = {k: written[k] / expected for k in models}
    verdict = worst(below_tiers(r, fail_below, warn_below) for r in ratios.values())
    weakest = min(ratios, key=lambda k: ratios[k])
    details["ratios"] = {k: round(v, 4) for k, v in ratios.items()}
    message = (
        f"{total_recent} predictions in the last {window_text} from {len(stated)} "
        f"batch(es) expecting {expected} per model: "
        + ", ".join(f"{k} {written[k]}/{expected}" for k in models)
        + f"; lowest {weakest} {format_pct(ratios[weakest], fail_below, warn_below)} "
        + f"({verdict.value})"
    )
    result = m.result(verdict, pct_value(ratios[weakest], fail_below, warn_below), message, details)
    result.findings = [
        Finding(
            f"model {k}: {written[k]}/{expected} expected "
            f"({format_pct(ratios[k], fail_below, warn_below)})",
            below_tiers(ratios[k], fail_below, warn_below) is not Verdict.PASS,
        )
        for k in models
    ]
    return result
