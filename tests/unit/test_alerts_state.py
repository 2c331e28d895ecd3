"""Alert dedup rules: first FAIL alerts, repeats are suppressed for the interval, recovery."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from nbaops.alerts.state import FileStateStore, Mark, key_of, marks_for, plan
from nbaops.verdict import CheckResult, Verdict

NOW = dt.datetime(2026, 1, 20, 18, 0, tzinfo=dt.UTC)
INTERVAL = dt.timedelta(hours=12)


def res(verdict: Verdict, name: str = "lines_coverage", service: str = "phase4-processors"):
    return CheckResult(name, service, verdict, 0.5, "FAIL < 90%", "msg")


def marks(*items: Mark) -> dict[str, Mark]:
    return {m.key: m for m in items}


def decide(results, state, now=NOW, recovery=True):
    return plan(results, state, now, suppression=INTERVAL, recovery_messages=recovery)


@pytest.mark.parametrize("verdict", [Verdict.FAIL, Verdict.ERROR])
def test_first_failure_alerts(verdict: Verdict) -> None:
    assert decide([res(verdict)], {}).alerts == [res(verdict)]


def test_repeat_within_interval_is_suppressed_and_after_it_alerts_again() -> None:
    prior = Mark("lines_coverage", "phase4-processors", "FAIL", NOW - dt.timedelta(hours=6))
    out = decide([res(Verdict.FAIL)], marks(prior))
    assert (out.alerts, out.suppressed) == ([], [res(Verdict.FAIL)])
    old = Mark("lines_coverage", "phase4-processors", "FAIL", NOW - INTERVAL)
    assert decide([res(Verdict.FAIL)], marks(old)).alerts == [res(Verdict.FAIL)]


def test_a_mark_from_the_future_does_not_suppress(tmp_path: Path) -> None:
    # The clock went back (or one run had a pinned future clock): a mark dated after now
    # silenced a still-failing check for days (9999-12-31: for good).
    future = Mark("lines_coverage", "phase4-processors", "FAIL", NOW + dt.timedelta(days=3))
    assert decide([res(Verdict.FAIL)], marks(future)).alerts == [res(Verdict.FAIL)]
    store = FileStateStore(tmp_path)
    store.save([future], run_id="r-future", profile="local")
    assert store.load(NOW, INTERVAL) == {}  # as the warehouse ledger reads run_at <= now
    assert store.load(future.at, INTERVAL) == marks(future)


def test_a_changed_failing_verdict_alerts_within_the_interval() -> None:
    prior = Mark("lines_coverage", "phase4-processors", "ERROR", NOW - dt.timedelta(hours=1))
    assert decide([res(Verdict.FAIL)], marks(prior)).alerts == [res(Verdict.FAIL)]


@pytest.mark.parametrize("verdict", [Verdict.PASS, Verdict.WARN])
def test_passing_after_an_alert_is_a_recovery(verdict: Verdict) -> None:
    prior = Mark("lines_coverage", "phase4-processors", "FAIL", NOW - dt.timedelta(hours=1))
    out = decide([res(verdict)], marks(prior))
    assert out.recoveries == [res(verdict)] and not out.alerts
    silent = decide([res(verdict)], marks(prior), recovery=False)
    assert silent.recoveries == [] and silent.silent_recoveries == [res(verdict)]


def test_passing_without_a_prior_alert_says_nothing() -> None:
    recovered = Mark("lines_coverage", "phase4-processors", "PASS", NOW - dt.timedelta(hours=1))
    for state in ({}, marks(recovered)):
        out = decide([res(Verdict.PASS)], state)
        assert not (out.alerts or out.recoveries or out.suppressed or out.silent_recoveries)


def test_inconclusive_neither_alerts_nor_recovers() -> None:
    prior = Mark("lines_coverage", "phase4-processors", "FAIL", NOW - dt.timedelta(hours=1))
    out = decide([res(Verdict.INCONCLUSIVE)], marks(prior))
    assert not (out.alerts or out.recoveries or out.suppressed)


def test_keys_are_per_check_and_service() -> None:
    prior = Mark("error_logs", "phase3-processors", "FAIL", NOW - dt.timedelta(hours=1))
    other = res(Verdict.FAIL, "error_logs", "grading-service")
    assert decide([other], marks(prior)).alerts == [other]


def test_file_store_round_trip(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path)
    assert store.load(NOW, INTERVAL) == {}
    saved = marks_for([res(Verdict.FAIL), res(Verdict.PASS, "grading_completeness")], NOW)
    store.save(saved, run_id="r1", profile="local")
    loaded = store.load(NOW, INTERVAL)
    assert loaded[key_of("lines_coverage", "phase4-processors")] == saved[0]
    assert loaded[key_of("grading_completeness", "phase4-processors")].alerting is False
    assert store.path == tmp_path / "alerts" / "state.json"


def test_runs_saving_at_the_same_time_lose_no_mark(tmp_path: Path) -> None:
    """Two local runs save at once: each reads the file, adds its marks and rewrites it;
    without the file lock one run's rewrite dropped the other's mark (it alerted again)."""
    from nbaops.concurrency import map_concurrently

    def save(i: int) -> None:
        store = FileStateStore(tmp_path)  # one store per run, as in two processes
        for j in range(15):
            store.save(marks_for([res(Verdict.FAIL, f"c{i}_{j}")], NOW), run_id="r", profile="l")

    map_concurrently(save, list(range(6)), max_workers=6)
    loaded = FileStateStore(tmp_path).load(NOW, INTERVAL)
    assert len(loaded) == 6 * 15


def test_a_damaged_state_file_means_alert_again(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path)
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json", encoding="utf-8")
    assert store.load(NOW, INTERVAL) == {}


def test_a_state_entry_without_a_utc_offset_is_read_as_utc(tmp_path: Path) -> None:
    """A timestamp without an offset (an edited file) is UTC, as everywhere in nbaops: it
    used to raise TypeError comparing naive with aware, so every later run alerted
    without dedup ("alert state unavailable") until that key alerted again."""
    store = FileStateStore(tmp_path)
    store.save(marks_for([res(Verdict.FAIL)], NOW), run_id="r1", profile="local")
    text = store.path.read_text(encoding="utf-8").replace("+00:00", "")
    store.path.write_text(text, encoding="utf-8")
    prior = Mark("lines_coverage", "phase4-processors", "FAIL", NOW)
    assert store.load(NOW + dt.timedelta(hours=1), INTERVAL) == marks(prior)
    later = decide([res(Verdict.FAIL)], store.load(NOW + dt.timedelta(hours=1), INTERVAL))
    assert later.suppressed == [res(Verdict.FAIL)]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"cron": "0 */6 * * *", "time_zone": "America/New_York"}, None),
        ({"cron": "*/15 2-4 1,15 JAN MON-FRI"}, None),
        ({"cron": "99 99 99 99 99"}, "alerts.schedule.cron: '99 99 99 99 99': minute: '99'"),
        ({"cron": "0 0 * *"}, "needs 5 fields"),
        ({"cron": "0 0 0 * *"}, "day of month: '0' is outside 1-31"),
        ({"cron": "5-2 * * * *"}, "the range '5-2' runs backwards"),
        ({"cron": "*/0 * * * *"}, "step '0' must be a positive number"),
        ({"time_zone": "Mars/Phobos"}, "alerts.schedule.time_zone: 'Mars/Phobos' is not an IANA"),
        ({"time_zone": "../../etc/passwd"}, "is not an IANA time zone"),
        # accepted by a lenient parse, refused by Cloud Scheduler
        ({"cron": "5- * * * *"}, "minute: '5-' is not a range"),
        ({"cron": "0 */6 * * */"}, "day of week: step '' must be a positive number"),
        ({"cron": "\u0663 */6 * * *"}, "minute: '\u0663' is not a number"),  # Arabic-Indic 3
        # files of the system's zoneinfo folder, not IANA zone names
        ({"time_zone": "localtime"}, "is not an IANA time zone"),
        ({"time_zone": "posixrules"}, "is not an IANA time zone"),
        ({"time_zone": "right/UTC"}, "is not an IANA time zone"),
        ({"time_zone": "posix/Etc/UTC"}, "is not an IANA time zone"),
        ({"time_zone": "Factory"}, "is not an IANA time zone"),
    ],
)
def test_a_schedule_cloud_scheduler_would_refuse_is_a_config_error(
    schedule: dict[str, str], message: str | None
) -> None:
    """schedule.install --dry-run printed a plan (PASS) for a cron or time zone the API
    refuses."""
    from nbaops.alerts.settings import AlertSettings
    from nbaops.errors import ConfigError
    from nbaops.settings import load_section

    if message is None:
        assert load_section({"schedule": schedule}, AlertSettings, "alerts").schedule
        return
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_section({"schedule": schedule}, AlertSettings, "alerts")


def test_a_fifo_or_huge_state_file_means_alert_again_without_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state file was read whole with read_text: a FIFO nobody writes to blocked the
    run for ever, and a huge file was read into memory. It is read bounded (a regular file
    only), and either is a damaged file: alert again; the next save replaces it."""
    import os
    import threading

    from nbaops.alerts import state

    store = FileStateStore(tmp_path)
    store.path.parent.mkdir(parents=True)
    os.mkfifo(store.path)
    loaded: list[dict[str, Mark]] = []
    reader = threading.Thread(target=lambda: loaded.append(store.load(NOW, INTERVAL)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the reader so the test process can end
        with open(store.path, "w"):
            pass
    assert loaded == [{}]

    store.path.unlink()
    store.save(marks_for([res(Verdict.FAIL)], NOW), run_id="r1", profile="local")
    monkeypatch.setattr(state, "MAX_STATE_BYTES", 16)
    assert store.load(NOW, INTERVAL) == {}
