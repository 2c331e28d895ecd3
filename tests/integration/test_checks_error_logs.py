"""error_logs through the real Cloud Logging client against the local stand-in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from worlds.checks_world import NOW_DT, World
from worlds.fake_clock import FakeClock

from nbaops.checks import run_check
from nbaops.checks.error_logs import message_key
from nbaops.local.api_faults import set_api_fault
from nbaops.verdict import Verdict

SVC = "grading-service"
REV_OLD, REV_NEW = "grading-service-00001-abc", "grading-service-00002-xyz"


@pytest.fixture
def logs_world(world: World) -> World:
    world.use_standin_logs()
    return world


def test_no_errors_passes_and_the_filter_carries_the_window(logs_world: World) -> None:
    logs_world.log(SVC, REV_OLD, "old failure", at=NOW_DT - dt.timedelta(minutes=30))
    logs_world.log(SVC, REV_OLD, "just a warning", severity="WARNING")
    logs_world.log("phase3-processors", "phase3-processors-00001-aaa", "other service")
    result = run_check(logs_world.ctx, "error_logs", service=SVC)
    assert result.verdict is Verdict.PASS
    assert result.value == 0
    assert 'resource.labels.service_name = "grading-service"' in result.query
    assert 'timestamp >= "2025-01-15T16:50:00' in result.query
    assert "severity >= ERROR" in result.query


def test_a_few_errors_warn_with_top_messages(logs_world: World) -> None:
    logs_world.log(SVC, REV_NEW, "grading batch {i} failed: timeout", count=3)
    result = run_check(logs_world.ctx, "error_logs", service=SVC)
    assert result.verdict is Verdict.WARN
    assert result.value == 3
    # grouped by pattern, shown by one message as logged (digits and all: it is what a
    # log search finds; the pattern's "N" finds nothing)
    (top,) = result.details["top_messages"]
    assert top["pattern"] == "grading batch N failed: timeout" and top["count"] == 3
    assert top["message"] in {f"grading batch {i} failed: timeout" for i in range(3)}
    assert result.details["per_revision"] == {REV_NEW: 3}


def test_many_errors_fail(logs_world: World) -> None:
    logs_world.log(SVC, REV_NEW, "KeyError: 'actual_points' in row {i}", count=9)
    logs_world.log(SVC, REV_OLD, "connection reset", severity="CRITICAL", count=3)
    result = run_check(logs_world.ctx, "error_logs", service=SVC)
    assert result.verdict is Verdict.FAIL
    assert result.value == 12
    assert f"by revision: {REV_NEW} 9, {REV_OLD} 3" in result.message
    assert re.search(r"KeyError: 'actual_points' in row \d\" x9", result.message), result.message


def test_revision_narrows_to_that_revision(logs_world: World) -> None:
    logs_world.log(SVC, REV_OLD, "old revision noise {i}", count=15)
    logs_world.log(SVC, REV_NEW, "new revision problem")
    result = run_check(logs_world.ctx, "error_logs", service=SVC, revision=REV_NEW)
    assert result.verdict is Verdict.WARN
    assert result.value == 1
    assert f'resource.labels.revision_name = "{REV_NEW}"' in result.query
    assert f"{SVC} revision {REV_NEW}" in result.message


def test_logging_api_failure_is_error(logs_world: World) -> None:
    set_api_fault(logs_world.home, "logging-error", status=500)
    result = run_check(logs_world.ctx, "error_logs", service=SVC)
    assert result.verdict is Verdict.ERROR
    assert "500" in result.message
    assert "timestamp >=" in result.query


def on_fake_clock(world: World) -> FakeClock:
    """The world's reader with its pauses on a fake clock (nothing waits)."""
    from nbaops.adapters.logs import LogReader

    clock = FakeClock()
    endpoint = world.ctx.logs.endpoint
    world.ctx.__dict__["logs"] = LogReader(
        world.ctx.config.profile,
        endpoint,
        timeout_s=5.0,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    return clock


def entries_list_requests(world: World) -> int:
    from nbaops.local.standin import StandIn

    return sum(r["path"] == "/v2/entries:list" for r in StandIn.requests(world.home))


def test_a_search_cloud_logging_never_finished_is_inconclusive_not_pass(
    logs_world: World,
) -> None:
    """Only pages with no entries and a token (the API's search ran out of time): a count
    of 0 there is not "no errors"; the read stops at the request cap."""
    from nbaops.adapters.logs import MAX_PAGES

    logs_world.log(SVC, REV_NEW, "hidden failure {i}", count=3)
    clock = on_fake_clock(logs_world)
    set_api_fault(logs_world.home, "logging-empty-pages")
    result = run_check(logs_world.ctx, "error_logs", service=SVC)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.value is None
    assert result.message.startswith(
        "cannot tell: Cloud Logging had not searched every entry after "
        f"{MAX_PAGES} entries:list requests"
    )
    assert "0 ERROR-or-worse entries for grading-service in the last 10m so far" in (result.message)
    assert result.details["partial"] and "timestamp >=" in result.query
    assert entries_list_requests(logs_world) == MAX_PAGES
    assert len(clock.slept) == MAX_PAGES - 1
    # the strictest setting (fail_at 0: any entry fails) must not read "0 so far" as PASS
    strict = run_check(logs_world.ctx, "error_logs", {"fail_at": 0, "warn_at": 0}, service=SVC)
    assert strict.verdict is Verdict.INCONCLUSIVE, strict.message


def test_a_partial_read_already_past_fail_at_is_fail_at_least(
    logs_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pages of five read, more left: 10 already reaches FAIL, so FAIL 'at least 10';
    below fail_at the same partial read is INCONCLUSIVE with the count so far."""
    monkeypatch.setattr("nbaops.adapters.logs.PAGE_LIMIT", 5)
    monkeypatch.setattr("nbaops.adapters.logs.MAX_PAGES", 2)
    logs_world.log(SVC, REV_NEW, "KeyError in row {i}", count=30)
    on_fake_clock(logs_world)
    result = run_check(logs_world.ctx, "error_logs", service=SVC)
    assert result.verdict is Verdict.FAIL
    assert result.value == 10
    assert result.message.startswith("at least 10 ERROR-or-worse entries for grading-service")
    assert result.details["partial"] and not result.details["truncated"]
    below = run_check(logs_world.ctx, "error_logs", {"fail_at": 11}, service=SVC)
    assert below.verdict is Verdict.INCONCLUSIVE
    assert "10 ERROR-or-worse entries for grading-service in the last 10m so far" in (below.message)
    assert below.message.endswith("(FAIL at 11)")


def test_a_read_stopped_at_max_entries_below_fail_at_is_inconclusive(logs_world: World) -> None:
    """max_entries under fail_at: the read stops at 5 of 30 entries, which may be any
    number up to FAIL, so "at least 5" (WARN) would judge what was never read; at
    fail_at or above the count so far already decides FAIL."""
    logs_world.log(SVC, REV_NEW, "KeyError in row {i}", count=30)
    result = run_check(logs_world.ctx, "error_logs", {"max_entries": 5}, service=SVC)
    assert result.verdict is Verdict.INCONCLUSIVE, result.message
    assert result.value is None and result.details["truncated"]
    assert result.message == (
        "cannot tell: the read stopped at max_entries (5); 5 ERROR-or-worse entries for "
        "grading-service in the last 10m so far (FAIL at 10)"
    )
    enough = run_check(logs_world.ctx, "error_logs", {"max_entries": 10}, service=SVC)
    assert enough.verdict is Verdict.FAIL and enough.value == 10
    assert enough.message.startswith("at least 10 ERROR-or-worse entries")


def test_error_logs_needs_a_known_service(logs_world: World) -> None:
    from nbaops.errors import ConfigError, UnknownServiceError

    with pytest.raises(UnknownServiceError):
        run_check(logs_world.ctx, "error_logs", service="nope")
    with pytest.raises(ConfigError):
        run_check(logs_world.ctx, "error_logs")


def test_message_key_groups_numbers_and_keeps_first_line() -> None:
    assert message_key("batch 12 failed after 3.5s\nTraceback") == "batch N failed after Ns"
    assert message_key("   ") == "(empty message)"


def test_top_messages_0_counts_the_entries_and_names_none(logs_world: World) -> None:
    """``top_messages: 0`` is a valid setting (name no log text, e.g. in Slack alerts), but
    with any entry in the window the check raised IndexError (the message quoted the
    first top message): ERROR on every run instead of the count's verdict."""
    logs_world.log(SVC, REV_NEW, "grading batch {i} failed: token abc{i}", count=3)
    result = run_check(logs_world.ctx, "error_logs", {"top_messages": 0}, service=SVC)
    assert result.verdict is Verdict.WARN and result.value == 3, result.message
    assert result.details["top_messages"] == [] and result.findings == []
    assert "grading batch" not in result.message
    assert result.message == (
        f"3 ERROR-or-worse entries for {SVC} in the last 10m (WARN; by revision: {REV_NEW} 3)"
    )
