"""system-health end to end on the local warehouse and stand-in: concurrency, timeouts,
errors, the JSON shape, the step summary, history and alerts."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from worlds.checks_world import NOW_DT, TODAY, YESTERDAY, World, et, make_world

from nbaops.verdict import Verdict, exit_code_for

ALL_SERVICES = [
    "phase3-processors",
    "phase4-processors",
    "prediction-coordinator",
    "prediction-worker",
    "grading-service",
]


def healthy_day(world: World) -> None:
    """A game day on which every check passes at 12:00 ET.

    The dozen inserts share one connection (a session): each on its own opens and closes
    the warehouse file (~60 ms, most of this setup); the rows are the same."""
    with world.wh.session():
        today = world.games(TODAY, 5)
        world.features(today)
        world.lines(today)
        yesterday = world.games(YESTERDAY, 5)
        world.box_scores(yesterday)
        old_batch = world.batch(YESTERDAY, "11:30", expected=100)
        world.grade(world.predictions(yesterday, old_batch, et(YESTERDAY, 11, 40)), et(TODAY, 3))
        batch = world.batch(TODAY, "11:30", expected=100)
        world.predictions(today, batch, et(TODAY, 11, 40))
        for name in ("box_scores", "shot_zones"):
            world.heartbeat(name, NOW_DT - dt.timedelta(minutes=3))
        graded_history(world)
    world.use_standin_logs()


def graded_history(world: World, days: int = 12, picks: int = 60, hits: int = 34) -> None:
    """Earlier game days of graded v8 picks (56.7% hit): what model_hit_rate pools."""
    rows = []
    for d in range(2, 2 + days):
        day = TODAY - dt.timedelta(days=d)
        for i in range(picks):
            rows.append(
                {
                    "prediction_id": f"hist-{day}-{i}",
                    "game_id": f"hist{day:%m%d}",
                    "game_date": day,
                    "player_lookup": f"histplayer{i}",
                    "system_id": "v8",
                    "predicted_points": 16.0,
                    "line_value": 14.5,
                    "recommendation": "OVER",
                    "actual_points": 17 if i < hits else 12,
                    "is_correct": i < hits,
                    "absolute_error": 1.0,
                    "signed_error": -1.0,
                    "graded_at": et(day + dt.timedelta(days=1), 3),
                }
            )
    world.wh.insert_rows("nba_predictions.prediction_accuracy", rows)


@pytest.fixture
def healthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = make_world(tmp_path, monkeypatch)
    healthy_day(world)
    return world


def run(world: World, service: str | None = None, record: bool = True):  # type: ignore[no-untyped-def]
    from nbaops.system_health import run_system_health

    return run_system_health(world.ctx, service, record=record)


def test_every_check_runs_for_every_service_and_passes(healthy: World) -> None:
    report = run(healthy)
    names = [(c.name, c.service) for c in report.checks]
    assert names[:7] == [
        ("lines_coverage", "phase4-processors"),
        ("grading_completeness", "grading-service"),
        ("recent_predictions", "prediction-worker"),
        ("batch_errors", "prediction-coordinator"),
        ("processor_heartbeats", "phase3-processors"),
        ("shot_zones", "phase3-processors"),
        ("model_hit_rate", "prediction-worker"),
    ]
    assert names[7:] == [("error_logs", s) for s in ALL_SERVICES]
    assert report.verdict is Verdict.PASS, [(c.name, c.verdict, c.message) for c in report.checks]
    assert exit_code_for(report.verdict) == 0


def test_json_document_has_exactly_the_contract_shape(healthy: World) -> None:
    doc = json.loads(json.dumps(run(healthy).to_json(), default=str))
    assert set(doc) == {"verdict", "checks"}
    assert doc["verdict"] == "PASS"
    for check in doc["checks"]:
        assert {"name", "service", "verdict", "value", "threshold", "message", "duration_s"} <= set(
            check
        )
        assert check["verdict"] in {"PASS", "WARN", "FAIL", "INCONCLUSIVE", "ERROR"}


def test_service_filter_runs_only_that_services_checks(healthy: World) -> None:
    report = run(healthy, "grading-service")
    assert [(c.name, c.service) for c in report.checks] == [
        ("grading_completeness", "grading-service"),
        ("error_logs", "grading-service"),
    ]


def test_unknown_service_is_a_usage_error(healthy: World) -> None:
    from nbaops.errors import UnknownServiceError

    with pytest.raises(UnknownServiceError, match="known services: phase3-processors"):
        run(healthy, "nope")


def test_a_failing_check_fails_the_run_and_the_others_still_report(healthy: World) -> None:
    healthy.break_table("nba_analytics.processor_heartbeats")
    healthy.log("phase4-processors", "phase4-processors-00002-abc", "lines feed 500 {i}", count=12)
    report = run(healthy)
    by = {(c.name, c.service): c for c in report.checks}
    errored = by[("processor_heartbeats", "phase3-processors")]
    assert errored.verdict is Verdict.ERROR
    assert "processor_heartbeats" in errored.message
    # an ERROR still says what it would have been judged against (set before the query)
    assert errored.threshold.startswith("FAIL age > 6h"), errored.threshold
    assert by[("error_logs", "phase4-processors")].verdict is Verdict.FAIL
    assert by[("lines_coverage", "phase4-processors")].verdict is Verdict.PASS
    assert report.verdict is Verdict.FAIL
    assert exit_code_for(report.verdict) == 1


def test_error_without_failure_exits_3(healthy: World) -> None:
    healthy.break_table("nba_analytics.player_game_summary")
    report = run(healthy)
    assert report.verdict is Verdict.ERROR
    assert exit_code_for(report.verdict) == 3


def test_a_hung_check_times_out_as_error_without_delaying_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_endpoint: str
) -> None:
    from nbaops.adapters.logs import LogReader

    world = make_world(tmp_path, monkeypatch, checks={"timeout_s": 1.5})
    healthy_day(world)
    world.ctx.__dict__["logs"] = LogReader(
        world.ctx.config.profile, endpoint=silent_endpoint, timeout_s=30.0
    )
    started = time.monotonic()
    report = run(world, record=False)
    elapsed = time.monotonic() - started
    logs = [c for c in report.checks if c.name == "error_logs"]
    assert len(logs) == 5
    assert all(c.verdict is Verdict.ERROR for c in logs)
    assert all(c.message == "timed out after 1.5s (checks.timeout_s)" for c in logs)
    assert all(c.threshold == "completes within 1.5s (checks.timeout_s)" for c in logs)
    assert {c.verdict for c in report.checks if c.name != "error_logs"} == {Verdict.PASS}
    # the hung endpoint holds 30 s: under that, the timeout ended it (a loaded machine has slack)
    assert elapsed < 25, "the run waited for the hung checks instead of their timeout"
    assert exit_code_for(report.verdict) == 3


def test_step_summary_is_appended_as_markdown(
    healthy: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    healthy.break_table("nba_analytics.player_game_summary")
    run(healthy)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    assert "nbaops system-health: ERROR" in text
    assert "| check | service | verdict | value | threshold | message | s |" in text
    assert "| shot_zones | phase3-processors | 🛑 ERROR |" in text
    # the value with its unit, as the terminal shows it: "19.6" beside "FAIL age > 6h"
    # read as hours
    assert "| lines_coverage | phase4-processors | ✅ PASS | 100% |" in text
    heartbeats = r"\| processor_heartbeats \| phase3-processors \| \S+ \w+ \| [0-9.]+ min \|"
    assert re.search(heartbeats, text)


def test_history_is_recorded_and_alerts_dispatched(healthy: World) -> None:
    healthy.break_table("nba_analytics.player_game_summary")
    report = run(healthy)
    run_ids = {c.details.get("run_id") for c in report.checks}
    assert len(run_ids) == 1 and None not in run_ids
    rows = healthy.wh.query(
        "SELECT check_name, verdict FROM `nba_ops.check_results` WHERE run_at >= @since",
        {"since": NOW_DT - dt.timedelta(minutes=1)},
    ).rows
    assert len(rows) == len(report.checks)
    assert {"check_name": "shot_zones", "verdict": "ERROR"} in rows
    assert any(note.startswith("alerts:") for note in report.notes)
    outbox = healthy.home / "outbox.jsonl"
    assert outbox.is_file() and "shot_zones" in outbox.read_text(encoding="utf-8")


def test_no_record_writes_no_history(healthy: World) -> None:
    report = run(healthy, record=False)
    assert report.notes == []
    rows = healthy.wh.query(
        "SELECT COUNT(*) AS n FROM `nba_ops.check_results` WHERE run_at >= @since",
        {"since": NOW_DT - dt.timedelta(days=1)},
    ).rows
    assert rows[0]["n"] == 0


def test_live_progress_view_and_table_render_on_a_terminal(healthy: World) -> None:
    import io

    from rich.console import Console

    from nbaops.system_health import run_system_health

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=160, color_system=None)
    report = run_system_health(healthy.ctx, "grading-service", live=console, record=False)
    live_frames = stream.getvalue()
    assert "grading_completeness [grading-service]" in live_frames
    assert "2/2 done" in live_frames
    report.notes.append("alerts: 0 sent")
    report.checks[0].details["anomaly"] = "value 50 is 6.1 MADs below the median 100"
    table = io.StringIO()
    report.render(Console(file=table, width=200, color_system=None))
    text = table.getvalue()
    assert "grading_completeness" in text and "PASS system-health (grading-service)" in text
    assert "anomaly grading_completeness [grading-service]: value 50 is 6.1 MADs" in text
    assert "alerts: 0 sent" in text


def test_a_bad_alerts_section_stops_the_run_before_the_checks(
    healthy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 2 naming the key, not a run whose alerts are silently never sent (the error
    used to surface only as an 'alerts: not dispatched' note and a thread's traceback)."""
    import dataclasses

    from nbaops.errors import ConfigError

    config = healthy.ctx.config
    raw = {**config.raw, "alerts": {**config.raw["alerts"], "anomaly": {"min_history": 30}}}
    monkeypatch.setattr(healthy.ctx, "config", dataclasses.replace(config, raw=raw))
    for record in (True, False):  # the checks link their playbooks through it too
        with pytest.raises(ConfigError, match="alerts.anomaly.min_history: 30") as info:
            run(healthy, record=record)
        assert info.value.exit_code == 2


def test_a_failure_outside_a_check_is_its_error_at_once_not_a_timeout(healthy: World) -> None:
    """A worker that raised outside the check's own code (here the caller's progress
    callback) still delivers the check's result: before, the job was lost and waited out
    the whole timeout (120 s in a run whose alerts section could not be read)."""
    import time

    from nbaops.checks import plan_checks, run_planned

    planned = plan_checks(healthy.ctx)

    def progress(event: str, item: object, result: object) -> None:
        if event == "start" and item is planned[0]:
            raise RuntimeError("progress view broke")

    started = time.monotonic()
    results = run_planned(healthy.ctx, planned, timeout_s=60.0, progress=progress)
    assert time.monotonic() - started < 30.0
    assert results[0].verdict is Verdict.ERROR
    assert "progress view broke" in results[0].message
    assert results[0].doc == planned[0].spec.playbook_doc  # the page to open, as ever
    assert [r.verdict for r in results[1:]] == [Verdict.PASS] * (len(planned) - 1)


def test_ctrl_c_swallowed_by_the_warm_up_stops_the_run(healthy: World) -> None:
    """Ctrl-C during the first sandbox build: DuckDB turned it into "Query interrupted",
    the warm-up ignored the failure, a check thread redid the build and the run went on
    to exit 0. The warm-up now asks whether Ctrl-C arrived (the runner notes it)."""
    from contextlib import ExitStack

    from nbaops.checks import plan_checks
    from nbaops.errors import note_ctrl_c
    from nbaops.system_health import warm_adapters

    class Interrupted:  # the context whose first warehouse use was interrupted
        config = healthy.ctx.config

        @property
        def warehouse(self) -> object:
            raise RuntimeError("INTERRUPT Error: Query interrupted")

        @property
        def logs(self) -> object:
            return healthy.ctx.logs

    planned = plan_checks(healthy.ctx)
    with ExitStack() as stack:
        warm_adapters(Interrupted(), planned, stack)  # type: ignore[arg-type]  # no Ctrl-C: ignored
        note_ctrl_c()
        try:
            with pytest.raises(KeyboardInterrupt):
                warm_adapters(Interrupted(), planned, stack)  # type: ignore[arg-type]
        finally:
            note_ctrl_c(False)


def test_a_day_that_cannot_be_validated_is_an_error_with_its_playbook_and_threshold(
    healthy: World,
) -> None:
    """validate-daily's ERROR line was `ERROR daily.schedule [*] value=-` with no threshold
    and no page to open, unlike every other result."""
    from nbaops.checks.daily_validation import run as validate
    from nbaops.checks.thresholds import load_thresholds

    healthy.break_table("nba_precompute.points_lines")  # the chain query reads it
    params = load_thresholds(healthy.ctx.config).params("daily_validation")
    (error,) = validate(healthy.ctx, params).checks
    assert error.verdict is Verdict.ERROR and error.service == "phase3-processors"
    assert error.doc == "docs/playbooks/validate-daily.md"
    assert error.threshold == "FAIL < 90%, WARN < 98% of the stage before", error.threshold
    assert "points_lines" in error.message and "game_date" in error.query
