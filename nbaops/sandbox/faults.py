"""Inject and clear faults in the sandbox, to rehearse what checks and deploys must catch.

Data faults (the warehouse and the log store change at once):

- ``lines-coverage-drop`` (phase4-processors): the lines of the game day ``check-lines``
  measures (today; before 02:00 ET, when today's features are due, yesterday) removed
  for ~40% of the expected players, whole games first (and their predictions with them).
- ``grading-stall`` (grading-service): grading of yesterday and today removed.
- ``stale-heartbeat`` (default phase3-processors; any service): the service's first
  processor stopped heartbeating ~7 h ago.
- ``batch-errors`` (prediction-coordinator): the latest finished batch failed with 73
  errors, and it wrote predictions without a real line (a REAL_LINES_ONLY violation).
- ``error-logs`` (default prediction-worker; any service): a burst of 25 ERROR entries
  in the 5 minutes before the injection, on the serving revision.
- ``hit-rate-drop`` (prediction-worker): over the last 30 days, half of every model's
  winning graded picks turned into losses (the side flipped): the model_hit_rate check FAILs.
- ``next-revision-degraded`` (default prediction-worker; any service): armed until the
  stand-in creates the next revision of that service; then
  :func:`nbaops.sandbox.fault_injection.on_new_revision`
  degrades that service's data (phase3: stale heartbeat, phase4: lines coverage drop,
  coordinator: batch errors, worker: the batches of the last 12 h wrote no predictions,
  grading: grading stall), writes ERROR entries tagged with the new revision and
  answers True, so the stand-in marks that revision's health endpoint unhealthy.

Canary faults (default prediction-worker; any service) change the stand-in's simulated
request metrics (:mod:`nbaops.local.monitoring_api`) of revisions created at or after
the injection only, so a canary is worse than its baseline:

- ``canary-5xx``: ~4% of the new revision's requests answer 5xx (baseline ~0.4%).
- ``canary-latency``: the new revision's latencies are 1.6× slower.
- ``canary-low-traffic``: the new revision receives 1% of its traffic share (too little
  to judge: the analysis is INCONCLUSIVE).

API faults of the stand-in (the kinds of :data:`nbaops.local.api_faults.FAULT_SCOPE`) are
passed to :mod:`nbaops.local.api_faults`.

Active faults live in ``sandbox-faults.json``. The sandbox's state is a pure function of
(seed, clock, faults): injecting or clearing a fault regenerates the data from the seed
and re-applies every remaining fault, so clearing restores the data exactly. This module
holds the catalog, the records and the data transforms (:func:`apply_all`, used by every
build); :mod:`nbaops.sandbox.fault_injection` injects and clears them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbaops import clock
from nbaops.sandbox import generate, league
from nbaops.sandbox.fault_records import FAULTS_NAME as FAULTS_NAME
from nbaops.sandbox.fault_records import faults_path as faults_path
from nbaops.sandbox.fault_records import read_records as read_records
from nbaops.sandbox.fault_records import write_records as write_records

ARMED = "next-revision-degraded"
WORKER_NO_PREDICTIONS = "no-recent-predictions"  # applied form of a degraded worker revision
# Commits merged to the sandbox's platform clone and not deployed (nbaops.sandbox.platform_repo).
DRIFT = "drift"


@dataclass(frozen=True)
class FaultSpec:
    """A data fault (described in the module docstring): the service it belongs to
    (``fixed``: the only one allowed)."""

    default_service: str
    fixed: bool


DATA_FAULTS: dict[str, FaultSpec] = {
    "lines-coverage-drop": FaultSpec("phase4-processors", fixed=True),
    "grading-stall": FaultSpec("grading-service", fixed=True),
    "stale-heartbeat": FaultSpec("phase3-processors", fixed=False),
    "batch-errors": FaultSpec("prediction-coordinator", fixed=True),
    "error-logs": FaultSpec("prediction-worker", fixed=False),
    "hit-rate-drop": FaultSpec("prediction-worker", fixed=True),
}
CANARY_FAULTS = ("canary-5xx", "canary-latency", "canary-low-traffic")
# What a degraded new revision of each service does to the data.
DEGRADES = {
    "phase3-processors": "stale-heartbeat",
    "phase4-processors": "lines-coverage-drop",
    "prediction-coordinator": "batch-errors",
    "prediction-worker": WORKER_NO_PREDICTIONS,
    "grading-service": "grading-stall",
}


def known_faults() -> list[str]:
    from nbaops.local.api_faults import API_FAULT_KINDS

    return [*DATA_FAULTS, ARMED, DRIFT, *API_FAULT_KINDS, *CANARY_FAULTS]


# --------------------------------------------------------------------------- records


def active(home: Path) -> dict[str, list[dict[str, Any]]]:
    """Active faults by name: data faults, armed ``next-revision-degraded`` and API faults."""
    from nbaops.local.api_faults import active_api_faults

    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in read_records(home):
        out[str(rec["name"])].append(rec)
    for rec in active_api_faults(home):
        out[str(rec["kind"])].append({"name": rec["kind"], **rec})
    return dict(out)


def canary_effects(home: Path, service: str, created: str) -> set[str]:
    """The canary faults that apply to a revision of ``service`` created at ``created``
    (RFC 3339): those injected for the service at or before that moment."""
    when = _time(created, dt.datetime.min.replace(tzinfo=dt.UTC))
    out: set[str] = set()
    for rec in read_records(home):
        name = str(rec.get("name"))
        injected = _time(rec.get("injected_at"), dt.datetime.max.replace(tzinfo=dt.UTC))
        if name in CANARY_FAULTS and rec.get("service") == service and when >= injected:
            out.add(name)
    return out


# --------------------------------------------------------------------------- transforms


Tables = dict[str, list[dict[str, Any]]]
PREDICTIONS = "nba_predictions.player_prop_predictions"


def _drop_lines(tables: Tables, now: dt.datetime, rng: random.Random) -> None:
    from nbaops.checks.lines_coverage import todays_game_day

    # The day check-lines measures by default: between midnight and the features' due
    # time (02:00 ET) that is yesterday, whose lines dropping today's would leave whole.
    today, _ = todays_game_day(now)
    expected: dict[str, list[str]] = defaultdict(list)
    for row in tables.get("nba_precompute.ml_feature_store", []):
        if row["game_date"] == today:
            expected[row["game_id"]].append(row["player_lookup"])
    if not expected:  # features not built yet today: use the lines themselves
        for row in tables.get("nba_precompute.points_lines", []):
            if row["game_date"] == today and row["player_lookup"] not in expected[row["game_id"]]:
                expected[row["game_id"]].append(row["player_lookup"])
    total = sum(len(v) for v in expected.values())
    target = round(total * 0.4)
    games = sorted(expected)
    rng.shuffle(games)
    removed: set[str] = set()
    for game in games:
        for lookup in expected[game]:
            if len(removed) >= target:
                break
            removed.add(lookup)
    _remove(
        tables,
        "nba_precompute.points_lines",
        lambda r: r["game_date"] == today and r["player_lookup"] in removed,
    )
    _drop_predictions(tables, lambda p: p["game_date"] == today and p["player_lookup"] in removed)
    # the coordinator never saw those players: they are not expected by today's batches
    per_batch: dict[str, set[str]] = defaultdict(set)
    for p in tables.get(PREDICTIONS, []):
        if p["game_date"] == today:
            per_batch[p["batch_id"]].add(p["player_lookup"])
    for b in tables.get("nba_predictions.prediction_batches", []):
        if b["game_date"] == today and b["status"] != "running":
            b["expected_players"] = len(per_batch.get(b["batch_id"], set()))


def _stall_grading(tables: Tables, now: dt.datetime) -> None:
    since = clock.eastern_date(now) - dt.timedelta(days=1)
    _remove(tables, "nba_predictions.prediction_accuracy", lambda r: r["game_date"] >= since)


def _stale_heartbeat(tables: Tables, now: dt.datetime, service: str) -> None:
    processors = generate.PROCESSORS.get(service) or next(iter(generate.PROCESSORS.values()))
    name = processors[0]
    cutoff = now - dt.timedelta(hours=7)
    _remove(
        tables,
        "nba_analytics.processor_heartbeats",
        lambda r: r["processor_name"] == name and r["heartbeat_at"] > cutoff,
    )


def _finished_batches(tables: Tables) -> list[dict[str, Any]]:
    return [
        b for b in tables.get("nba_predictions.prediction_batches", []) if b["status"] != "running"
    ]


def _drop_predictions(tables: Tables, which: Callable[[dict[str, Any]], bool]) -> None:
    """Remove the predictions ``which`` selects, and their grading."""
    gone = {p["prediction_id"] for p in tables.get(PREDICTIONS, []) if which(p)}
    _remove(tables, PREDICTIONS, lambda r: r["prediction_id"] in gone)
    _remove(tables, "nba_predictions.prediction_accuracy", lambda r: r["prediction_id"] in gone)


def _batch_errors(tables: Tables) -> None:
    batches = _finished_batches(tables)
    if not batches:
        return
    latest = max(batches, key=lambda b: b["started_at"])
    latest.update(
        status="failed",
        error_count=73,
        error_message="73 players failed: prediction-worker returned 500 "
        "(model endpoint unavailable)",
    )
    preds = tables.setdefault(PREDICTIONS, [])
    lined = {
        r["player_lookup"]
        for r in tables.get("nba_precompute.points_lines", [])
        if r["game_date"] == latest["game_date"]
    }
    features = [
        r
        for r in tables.get("nba_precompute.ml_feature_store", [])
        if r["game_date"] == latest["game_date"]
    ]
    candidates = [r for r in features if r["player_lookup"] not in lined] or features
    created = latest["started_at"] + dt.timedelta(minutes=1)
    for row in candidates[:8]:
        for model in generate.MODELS:
            estimate = row["points_avg_last_10"] or row["points_avg_season"] or 10.0
            preds.append(
                {
                    "prediction_id": league.stable_id(
                        "estimated", latest["batch_id"], model, row["player_lookup"]
                    ),
                    "game_id": row["game_id"],
                    "game_date": row["game_date"],
                    "player_lookup": row["player_lookup"],
                    "system_id": model,
                    "predicted_points": round(float(estimate) + 1.5, 1),
                    "line_value": None,
                    "line_source": "ESTIMATED",
                    "recommendation": "OVER",
                    "confidence": 0.55,
                    "batch_id": latest["batch_id"],
                    "created_at": created,
                }
            )


def _no_recent_predictions(tables: Tables, now: dt.datetime) -> None:
    batches = _finished_batches(tables)
    if not batches:
        return
    recent = {b["batch_id"] for b in batches if b["started_at"] >= now - dt.timedelta(hours=12)}
    recent.add(max(batches, key=lambda b: b["started_at"])["batch_id"])
    _drop_predictions(tables, lambda p: p["batch_id"] in recent)


def _hit_rate_drop(tables: Tables, now: dt.datetime, rng: random.Random) -> None:
    """Flip the side of half the winning graded picks of the last 30 days (every model)."""
    since = clock.eastern_date(now) - dt.timedelta(days=30)
    flip = {"OVER": "UNDER", "UNDER": "OVER"}
    flipped: set[str] = set()
    for r in tables.get("nba_predictions.prediction_accuracy", []):
        if r["game_date"] >= since and r["is_correct"] and rng.random() < 0.5:
            r["recommendation"] = flip.get(r["recommendation"], r["recommendation"])
            r["is_correct"] = False
            flipped.add(r["prediction_id"])
    for p in tables.get(PREDICTIONS, []):
        if p["prediction_id"] in flipped:
            p["recommendation"] = flip.get(p["recommendation"], p["recommendation"])


_ERROR_MESSAGES = (
    "prediction request failed: model endpoint returned 500",
    "Traceback (most recent call last): KeyError: 'points_avg_last_10'",
    "BigQuery insert failed: 400 no such field: line_source_v2",
    "timeout after 30s waiting for upstream",
)


def _error_burst(
    logs: list[dict[str, Any]],
    where: tuple[str, str],
    service: str,
    revision: str,
    anchor: dt.datetime,
    rng: random.Random,
    count: int = 25,
) -> None:
    for i in range(count):
        when = anchor - dt.timedelta(seconds=rng.uniform(5, 290))
        logs.append(
            generate.log_entry(
                project=where[0],
                region=where[1],
                service=service,
                revision=revision,
                when=when,
                severity="ERROR" if i % 6 else "CRITICAL",
                message=rng.choice(_ERROR_MESSAGES),
            )
        )


def _remove(tables: Tables, ref: str, predicate: Callable[[dict[str, Any]], bool]) -> None:
    if ref in tables:
        tables[ref] = [r for r in tables[ref] if not predicate(r)]


# Each data transform by the fault (or applied degradation) name: (tables, now, service, rng).
_TRANSFORMS: dict[str, Callable[[Tables, dt.datetime, str, random.Random], None]] = {
    "lines-coverage-drop": lambda tables, now, _service, rng: _drop_lines(tables, now, rng),
    "grading-stall": lambda tables, now, _service, _rng: _stall_grading(tables, now),
    "stale-heartbeat": lambda tables, now, service, _rng: _stale_heartbeat(tables, now, service),
    "batch-errors": lambda tables, _now, _service, _rng: _batch_errors(tables),
    WORKER_NO_PREDICTIONS: lambda tables, now, _service, _rng: _no_recent_predictions(tables, now),
    "hit-rate-drop": lambda tables, now, _service, rng: _hit_rate_drop(tables, now, rng),
}


def apply_all(
    data: generate.SandboxData,
    records: Sequence[Mapping[str, Any]],
    *,
    now: dt.datetime,
    project: str,
    region: str,
    revisions: Mapping[str, Sequence[generate.Revision]],
) -> None:
    """Apply every active fault record to freshly generated data (in injection order).

    ``project`` and ``region`` label the ERROR log entries of ``error-logs`` faults.
    """
    for index, rec in enumerate(records):
        name = str(rec.get("name"))
        service = str(rec.get("service") or "prediction-worker")
        rng = random.Random(f"fault:{index}:{name}:{service}")
        anchor = _time(rec.get("applied_at") or rec.get("injected_at"), now)
        if name == ARMED:
            if rec.get("armed"):
                continue
            applied = str(rec.get("applied") or "error-logs")
            if applied in _TRANSFORMS:
                _TRANSFORMS[applied](data.tables, now, service, rng)
            revision = str(
                rec.get("revision") or generate.revision_at(revisions.get(service, []), anchor)
            )
            _error_burst(data.logs, (project, region), service, revision, anchor, rng)
        elif name == "error-logs":
            revision = generate.revision_at(revisions.get(service, []), anchor)
            _error_burst(data.logs, (project, region), service, revision, anchor, rng)
        elif name in _TRANSFORMS:
            _TRANSFORMS[name](data.tables, now, service, rng)
    data.logs.sort(key=lambda e: e["timestamp"])


def _time(text: Any, default: dt.datetime) -> dt.datetime:
    try:
        return clock.as_utc(str(text))
    except ValueError:
        return default
