"""processor_heartbeats on the local warehouse: age per processor and proliferation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.checks_world import NOW_DT, World, make_world

from nbaops.checks import run_check
from nbaops.verdict import Verdict

MIN = dt.timedelta(minutes=1)


def test_fresh_heartbeats_pass(world: World) -> None:
    for name in ("box_scores", "shot_zones", "team_stats"):
        world.heartbeat(name, NOW_DT - 5 * MIN, run_id=f"{name}-old", status="completed")
        world.heartbeat(name, NOW_DT - 40 * MIN, run_id=f"{name}-older", status="completed")
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.PASS
    assert result.value == 5.0  # minutes since the stalest processor's last heartbeat
    assert {p["processor"] for p in result.details["processors"]} == {
        "box_scores",
        "shot_zones",
        "team_stats",
    }


def test_heartbeat_older_than_warn_age_warns(world: World) -> None:
    world.heartbeat("box_scores", NOW_DT - 5 * MIN)
    world.heartbeat("shot_zones", NOW_DT - 150 * MIN)
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.WARN
    assert result.value == 150.0
    assert "shot_zones (phase3-processors) last heartbeat 2.5h ago > 2h" in result.message


def test_a_heartbeat_just_past_warn_age_is_not_shown_as_the_limit(world: World) -> None:
    """2h and 40 ms old WARNs, but its age was stored rounded to 0.1 s (7200.0): the
    message said "newest heartbeats all within 2h; oldest last heartbeat 2.0h ago" under
    the WARN, and value=120 min sat beside "WARN age > 2h"."""
    world.heartbeat("box_scores", NOW_DT - 5 * MIN)
    world.heartbeat("shot_zones", NOW_DT - 120 * MIN - dt.timedelta(milliseconds=40))
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.WARN
    assert result.value is not None and result.value > 120, result.value
    assert "shot_zones (phase3-processors) last heartbeat 2.00001h ago > 2h" in result.message
    assert "within 2h" not in result.message


def test_stale_heartbeat_fails(world: World) -> None:
    world.heartbeat("box_scores", NOW_DT - 5 * MIN)
    world.heartbeat("shot_zones", NOW_DT - 7 * 60 * MIN)
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.FAIL
    assert "shot_zones (phase3-processors) last heartbeat 7.0h ago > 6h (FAIL)" in result.message


def test_heartbeat_proliferation_warns(world: World) -> None:
    world.heartbeat("box_scores", NOW_DT - 2 * MIN, run_id="run-a")
    world.heartbeat("box_scores", NOW_DT - 3 * MIN, run_id="run-b")
    world.heartbeat("box_scores", NOW_DT - 4 * MIN, run_id="run-c")
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.WARN
    assert result.details["proliferating"] == ["box_scores"]
    assert "box_scores has 3 live heartbeat rows (proliferation, max 1)" in result.message


def test_no_heartbeats_at_all_is_inconclusive(world: World) -> None:
    world.heartbeat("box_scores", NOW_DT - dt.timedelta(days=9))  # outside the look-back
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.INCONCLUSIVE


def test_configured_processor_that_never_beat_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_world(
        tmp_path,
        monkeypatch,
        checks={"processor_heartbeats": {"processors": ["box_scores", "shot_zones"]}},
    )
    w.heartbeat("box_scores", NOW_DT - 5 * MIN)
    result = run_check(w.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.FAIL
    assert "no heartbeat in 7 days from shot_zones" in result.message
    # the stalest processor's age is unknown (more than the look-back), not box_scores' 5 min
    assert result.value is None


def test_missing_heartbeat_table_is_error(world: World) -> None:
    world.break_table("nba_analytics.processor_heartbeats")
    result = run_check(world.ctx, "processor_heartbeats")
    assert result.verdict is Verdict.ERROR
    assert "processor_heartbeats" in result.message


def test_findings_name_every_processor_and_mark_the_stale_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = make_world(
        tmp_path,
        monkeypatch,
        checks={"processor_heartbeats": {"processors": ["box_scores", "shot_zones"]}},
    )
    w.heartbeat("box_scores", NOW_DT - 5 * MIN)
    result = run_check(w.ctx, "processor_heartbeats")
    problems = [f.text for f in result.findings if f.problem]
    assert len(result.findings) == 2
    assert problems == ["shot_zones (unknown service) no heartbeat FAIL"]
    assert result.unit == "min" and result.doc == "docs/playbooks/processor-heartbeats.md"
