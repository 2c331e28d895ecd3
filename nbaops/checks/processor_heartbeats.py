"""Processor heartbeats (phase3-processors): age of each processor's last heartbeat.

Processors are those configured in ``processors`` or, when that is empty, those that
heartbeated in the last ``lookback_days``. Also flags heartbeat proliferation: more than
``max_live_rows`` live heartbeat rows (distinct runs within ``live_window``) for one
processor, the sign of runs that never close their heartbeat.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from nbaops import clock
from nbaops.checks.measure import Measurement, above_tiers, duration_text
from nbaops.checks.spec import EXAMPLE_NOW, CheckSpec, Key, Query
from nbaops.clock import as_utc
from nbaops.report import places_beside, round_beside
from nbaops.verdict import CheckResult, Finding, Verdict, worst

if TYPE_CHECKING:
    from nbaops.checks.spec import CheckParams
    from nbaops.context import Context

HEARTBEATS = Query(
    "heartbeats",
    """
WITH recent AS (
  SELECT processor_name, service, run_id, status, heartbeat_at, message
  FROM `nba_analytics.processor_heartbeats`
  WHERE heartbeat_at >= @since AND heartbeat_at <= @now
),
latest AS (
  SELECT processor_name, service, status, heartbeat_at, message
  FROM recent
  WHERE TRUE  -- BigQuery takes QUALIFY only with a WHERE, GROUP BY or HAVING clause
  QUALIFY ROW_NUMBER() OVER (PARTITION BY processor_name ORDER BY heartbeat_at DESC) = 1
),
live AS (
  SELECT processor_name, COUNT(DISTINCT run_id) AS live_runs
  FROM recent
  WHERE heartbeat_at >= @live_since
  GROUP BY processor_name
)
SELECT l.processor_name, l.service, l.status, l.heartbeat_at, l.message,
       COALESCE(v.live_runs, 0) AS live_runs
FROM latest AS l
LEFT JOIN live AS v ON v.processor_name = l.processor_name
ORDER BY l.processor_name
""",
    {
        "since": EXAMPLE_NOW - dt.timedelta(days=7),
        "now": EXAMPLE_NOW,
        "live_since": EXAMPLE_NOW - dt.timedelta(minutes=30),
    },
)

SPEC = CheckSpec(
    id="processor_heartbeats",
    service="phase3-processors",
    title="processor heartbeat age",
    unit="min",
    keys={
        "warn_age": Key("duration", "2h", "Last heartbeat older than this is WARN."),
        "fail_age": Key("duration", "6h", "Last heartbeat older than this is FAIL."),
        "lookback_days": Key(
            "integer",
            7,
            "Processors seen in this many days are expected.",
            maximum=366,
            minimum=1,
        ),
        "live_window": Key("duration", "30m", "Heartbeat rows this recent count as live."),
        "max_live_rows": Key(
            "integer",
            1,
            "More live rows (distinct runs) than this per "
            "processor is heartbeat proliferation (WARN).",
        ),
        "processors": Key(
            "texts", [], "Processors that must heartbeat (empty: those seen in the look-back)."
        ),
    },
    queries=(HEARTBEATS,),
    playbook="playbooks/processor-heartbeats.md",
    ordered=(("warn_age", "fail_age"),),
)


def _hours(seconds: float, *limits: dt.timedelta) -> str:
    """An age in hours (one decimal) or, under an hour, whole minutes; more decimals when
    those would round it onto or across one of the ``limits`` it is judged against
    (a heartbeat 2h and 1s old is ``2.0003h`` beside "> 2h", not ``2.0h``)."""
    size, unit, places = (3600, "h", 1) if seconds >= 3600 else (60, "m", 0)
    value = seconds / size
    shown = places_beside(value, *(limit.total_seconds() / size for limit in limits), places=places)
    return f"{value:.{shown}f}{unit}"


def run(ctx: Context, params: CheckParams) -> CheckResult:
    """Age of every processor's last heartbeat, and live-row proliferation."""
    m = Measurement(ctx, params, SPEC.id, SPEC.service)
    now = clock.now()
    warn_age, fail_age = params.duration("warn_age"), params.duration("fail_age")
    warn_s, fail_s = warn_age.total_seconds(), fail_age.total_seconds()
    lookback = dt.timedelta(days=params.integer("lookback_days"))
    max_live = params.integer("max_live_rows")
    m.threshold = (
        f"FAIL age > {duration_text(fail_age)}, WARN age > {duration_text(warn_age)} "
        f"or > {max_live} live row(s)"
    )
    rows = m.query(
        HEARTBEATS,
        {"since": now - lookback, "now": now, "live_since": now - params.duration("live_window")},
    )
    seen = {r["processor_name"]: r for r in rows}
    configured = params.texts("processors")
    expected = configured or sorted(seen)
    if not expected:
        return m.too_little_data(
            None,
            f"no processor heartbeats in the last "
            f"{lookback.days} days and no processors configured",
            {},
        )
    processors: list[dict[str, Any]] = []
    for name in expected:
        row = seen.get(name)
        if row is None:
            processors.append(
                {
                    "processor": name,
                    "age_s": None,
                    "verdict": Verdict.FAIL.value,
                    "live_runs": 0,
                    "last_heartbeat": None,
                }
            )
            continue
        age = now - as_utc(row["heartbeat_at"])
        verdict = above_tiers(age.total_seconds(), fail_s, warn_s)
        if int(row["live_runs"]) > max_live:
            verdict = worst([verdict, Verdict.WARN])
        processors.append(
            {
                "processor": name,
                "service": row["service"],
                # judged unrounded: the stored age keeps its side of each limit
                "age_s": round_beside(age.total_seconds(), warn_s, fail_s, places=1),
                "verdict": verdict.value,
                "status": row["status"],
                "live_runs": int(row["live_runs"]),
                "last_heartbeat": as_utc(row["heartbeat_at"]).isoformat(),
            }
        )
    verdict = worst(Verdict(p["verdict"]) for p in processors)
    missing = [p["processor"] for p in processors if p["age_s"] is None]
    aged = [p for p in processors if p["age_s"] is not None]
    problems: list[str] = []
    if missing:
        problems.append(f"no heartbeat in {lookback.days} days from {', '.join(missing)}")
    stale = sorted(
        (p for p in aged if p["verdict"] != Verdict.PASS.value and p["age_s"] > warn_s),
        key=lambda p: -p["age_s"],
    )
    for p in stale[:3]:
        limit = fail_age if p["age_s"] > fail_s else warn_age
        problems.append(
            f"{p['processor']} ({p['service']}) last heartbeat "
            f"{_hours(p['age_s'], limit)} ago > {duration_text(limit)}"
        )
    proliferating = [p for p in aged if p["live_runs"] > max_live]
    for p in proliferating[:3]:
        problems.append(
            f"{p['processor']} has {p['live_runs']} live heartbeat rows "
            f"(proliferation, max {max_live})"
        )
    oldest = max((p["age_s"] for p in aged), default=None)
    # a processor without a heartbeat in the look-back is the stalest, its age unknown
    # (more than lookback_days): no value, not the age of the stalest one that beat (a FAIL
    # read "value=5 min" beside "FAIL age > 6h")
    value = (
        None
        if oldest is None or missing
        else round_beside(oldest / 60, warn_s / 60, fail_s / 60, places=1)
    )
    if problems:
        message = f"{'; '.join(problems)} ({verdict.value})"
    else:
        message = (
            f"{len(processors)} processors, newest heartbeats all within "
            f"{duration_text(warn_age)}; oldest last heartbeat "
            f"{_hours(oldest or 0, warn_age)} ago"
        )
    details = {
        "processors": processors,
        "value_unit": "minutes since the stalest heartbeat",
        "proliferating": [p["processor"] for p in proliferating],
    }
    result = m.result(verdict, value, message, details)
    result.findings = [
        Finding(
            f"{p['processor']} ({p.get('service') or 'unknown service'}) "
            + (
                "no heartbeat"
                if p["age_s"] is None
                else f"last heartbeat {_hours(p['age_s'], warn_age, fail_age)} ago, "
                f"{p['live_runs']} live row(s)"
            )
            + f" {p['verdict']}",
            p["verdict"] != Verdict.PASS.value,
        )
        for p in processors
    ]
    return result
