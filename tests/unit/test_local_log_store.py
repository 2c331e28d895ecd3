"""The stand-in's log store: entries parsed once per version of the file, never stale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nbaops.local import log_store

WHEN = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def entry(service: str, severity: str = "ERROR") -> dict[str, object]:
    return {
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
        "severity": severity,
        "timestamp": WHEN,
        "textPayload": f"{service} failed",
    }


def test_unchanged_file_is_parsed_once_and_an_append_is_seen(tmp_path: Path) -> None:
    log_store.append_entries(tmp_path, [entry("a")])
    first = log_store.read_entries(tmp_path)
    assert log_store.read_entries(tmp_path) is first  # same version: the parsed list reused
    log_store.append_entries(tmp_path, [entry("b", "WARNING")])
    services = [e["resource"]["labels"]["service_name"] for e in log_store.read_entries(tmp_path)]
    assert services == ["a", "b"]


def test_query_returns_copies_so_a_caller_cannot_change_the_store(tmp_path: Path) -> None:
    log_store.append_entries(tmp_path, [entry("a"), entry("b", "INFO")])
    (matched,) = log_store.query(tmp_path, 'severity>=ERROR AND resource.type="cloud_run_revision"')
    matched["logName"] = "changed"
    assert log_store.query(tmp_path, "severity>=ERROR")[0]["logName"] != "changed"


def test_a_missing_file_has_no_entries(tmp_path: Path) -> None:
    assert log_store.read_entries(tmp_path) == []
    assert log_store.query(tmp_path, "severity>=ERROR") == []


def test_each_filter_operator_compares_like_cloud_logging() -> None:
    record = {"severity": "WARNING", "resource": {"labels": {"service_name": "b"}}}
    cases = {
        "severity = WARNING": True,
        "severity != WARNING": False,
        "severity >= WARNING": True,
        "severity > WARNING": False,
        "severity <= INFO": False,
        "severity < ERROR": True,
        'resource.labels.service_name != "a"': True,
        'resource.labels.revision_name != "r"': True,  # a missing field differs from any value
        'resource.labels.revision_name = "r"': False,
    }
    for filter_, expected in cases.items():
        assert log_store.compile_filter(filter_)(record) is expected, filter_


def test_requests_arriving_together_share_one_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    log_store.append_entries(tmp_path, [entry("a")])
    from nbaops.local.state_files import read_jsonl as real

    parses: list[int] = []

    def counted(path: Path) -> list[dict[str, object]]:
        parses.append(1)
        return real(path)

    monkeypatch.setattr("nbaops.local.log_store.read_jsonl", counted)
    start = threading.Barrier(5)

    def request() -> None:
        start.wait()
        log_store.query(tmp_path, "severity>=ERROR")

    threads = [threading.Thread(target=request) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert parses == [1]


def test_a_line_still_being_appended_is_left_for_the_next_read(tmp_path: Path) -> None:
    """Another process's append in progress (no newline yet) is not parsed half: the
    complete lines are read; a complete line that is not JSON names the file and line."""
    from nbaops.errors import DamagedStateError
    from nbaops.local.state_files import read_jsonl

    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n{"c": ', encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"b": 2}]
    path.write_text('{"a": 1}\nnot json\n{"b": 2}\n', encoding="utf-8")
    with pytest.raises(DamagedStateError, match=r"x\.jsonl: damaged sandbox state \(line 2 is"):
        read_jsonl(path)


def test_entries_are_ordered_filtered_and_returned_to_the_nanosecond(tmp_path: Path) -> None:
    """Cloud Logging timestamps carry 9 fraction digits: the store cut them to 6, so two
    entries of one microsecond came back in insertId order, not time order, a
    ``timestamp >`` clause between them matched neither, and the reply lost the digits."""
    first = {**entry("a"), "timestamp": "2026-11-30T12:00:00.000000001Z", "insertId": "z"}
    second = {**entry("b"), "timestamp": "2026-11-30T12:00:00.000000002Z", "insertId": "a"}
    log_store.append_entries(tmp_path, [second, first])
    oldest_first = log_store.query(tmp_path, "", order_desc=False)
    assert [e["timestamp"] for e in oldest_first] == [first["timestamp"], second["timestamp"]]
    later = log_store.query(tmp_path, 'timestamp > "2026-11-30T12:00:00.000000001Z"')
    assert [e["insertId"] for e in later] == ["a"]
    micro = {**entry("c"), "timestamp": "2026-11-30T07:00:00.5-05:00"}
    log_store.append_entries(tmp_path, [micro])
    assert log_store.read_entries(tmp_path)[-1]["timestamp"] == "2026-11-30T12:00:00.500000Z"
