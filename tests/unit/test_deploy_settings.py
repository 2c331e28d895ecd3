"""The deploy: section, labels, the lock annotation and the audit record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from nbaops.deploy import audit
from nbaops.deploy.deploy import sanitize_label
from nbaops.deploy.lock import DeployLock
from nbaops.deploy.settings import DeploySettings
from nbaops.errors import ConfigError
from nbaops.settings import load_section
from nbaops.verdict import CheckResult, Verdict


def deploy_settings(section: dict[str, Any]) -> DeploySettings:
    return load_section(section, DeploySettings, "deploy")


def test_defaults_and_overrides() -> None:
    s = deploy_settings({"observation": {"count": 2}, "on_inconclusive": "hold"})
    assert s.observation.count == 2 and s.on_inconclusive == "hold"
    assert deploy_settings({}).lock_ttl_s == 120


def test_a_lease_shorter_than_the_observation_window_is_valid() -> None:
    """The heartbeat renews the lease, so the old 'TTL > window' rule is gone (issue 13)."""
    s = deploy_settings({"lock_ttl_s": 10, "observation": {"interval_s": 30}})
    window_s = s.observation.interval_s * (s.observation.count - 1)
    assert s.lock_ttl_s == 10 and window_s == 270


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"on_inconclusive": "retry"}, "on_inconclusive"),
        ({"candidate_tag": "Bad_Tag"}, "candidate_tag"),
    ],
)
def test_invalid_values_are_config_errors(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        deploy_settings(section)


def test_config_schema_rejects_a_typo(tmp_path: Path) -> None:
    import yaml

    from nbaops.config import load_config
    from nbaops.paths import project_root

    data = yaml.safe_load((project_root() / "nbaops.yaml").read_text())
    data["deploy"]["observaton"] = {"count": 1}
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="observaton"):
        load_config(path)


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("ada@laptop.local", "ada_laptop_local"),
        ("Grace Hopper", "grace_hopper"),
        ("", "unknown"),
        ("x" * 80, "x" * 63),
    ],
)
def test_sanitize_label(raw: str, label: str) -> None:
    assert sanitize_label(raw) == label


def test_lock_annotation_round_trip_and_expiry() -> None:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    lock = DeployLock("ada@h", now, "d-1", now + dt.timedelta(minutes=30))
    back = DeployLock.from_annotation(lock.to_annotation())
    assert back == lock
    assert not lock.expired(now) and lock.expired(now + dt.timedelta(hours=1))
    assert DeployLock.from_annotation("not json") is None
    assert DeployLock.from_annotation('{"holder": "x"}') is None
    assert lock.to_json()["deploy_id"] == "d-1"


def test_audit_record_row_and_spool_encoding(tmp_path: Path) -> None:
    record = audit.AuditRecord(
        deploy_id="d-1", service="s", action="deploy", actor="a", profile="local"
    )
    record.add("pre-deploy", CheckResult("tests", "s", Verdict.PASS, 0, "", "ok"))
    record.note("lock", "FAIL", "held")
    record.finish("refused", "held by b")
    row = record.to_row()
    assert row["outcome"] == "refused" and row["duration_s"] is not None
    assert '"check": "tests"' in row["verdicts"]
    with pytest.raises(ValueError):
        record.finish("exploded")
    audit.spool(tmp_path, row)
    (tmp_path / audit.SPOOL_NAME).open("a").write("garbage\n")
    rows = audit.spooled_rows(tmp_path)
    assert len(rows) == 1 and rows[0]["started_at"] == row["started_at"]
    assert audit.new_deploy_id("svc").startswith("svc-")


def test_a_hand_edited_spool_line_is_skipped_and_the_other_rows_kept(tmp_path: Path) -> None:
    # a JSON value that is no object, a started_at that is no text or names no offset
    # raised AttributeError / TypeError (inv deploys: a traceback; naive against aware),
    # as an array outcome or a text duration_s did when inv deploys rendered the row
    record = audit.AuditRecord(
        deploy_id="d-1", service="s", action="deploy", actor="a", profile="local"
    )
    record.finish("success")
    audit.spool(tmp_path, record.to_row())
    with (tmp_path / audit.SPOOL_NAME).open("a", encoding="utf-8") as handle:
        handle.write('[1, 2]\n"text"\n7\n{"deploy_id": "d-2", "started_at": 1733220000}\n')
        handle.write('{"deploy_id": "d-4", "outcome": ["failed"]}\n')  # unhashable: in _BAD
        handle.write('{"deploy_id": "d-5", "duration_s": "12"}\n')  # :.0f of a str
        handle.write('{"deploy_id": "d-3", "started_at": "2026-12-03T10:00:00"}\n')
    rows = audit.spooled_rows(tmp_path)
    assert [r["deploy_id"] for r in rows] == ["d-1", "d-3"]
    assert rows[1]["started_at"] == dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC)


def test_a_long_service_name_keeps_its_deploy_ids_unique_as_labels() -> None:
    """A deploy id is its revision's label (63 characters at most): sanitize_label cut
    '<50-character service>-20261203t100408-4fcef9' to 63, dropping the seconds and the
    random part, so two deploys in the same ten minutes shared one id (the audit reader
    deduplicates on it; recovery took the other deploy's row as its own)."""
    from nbaops.deploy.request import sanitize_label

    service = "a" * 45 + "-proc"  # 50 characters: the longest name the config allows
    ids = {sanitize_label(audit.new_deploy_id(service)) for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) <= 63 and i.startswith("a" * 30) for i in ids)
    assert all(len(audit.new_deploy_id(service)) <= 63 for _ in range(3))


def test_a_row_spooled_after_a_torn_append_is_kept(tmp_path: Path) -> None:
    # kill -9 while appending leaves a last line without its newline; the next row was
    # written straight after that fragment, became part of an undecodable line and was
    # skipped: an audit row lost.
    record = audit.AuditRecord(
        deploy_id="d-2", service="s", action="rollback", actor="a", profile="local"
    )
    record.finish("success")
    path = tmp_path / audit.SPOOL_NAME
    path.write_text('{"deploy_id": "d-1", "service": "s", "acti', encoding="utf-8")  # torn
    audit.spool(tmp_path, record.to_row())
    assert [r["deploy_id"] for r in audit.spooled_rows(tmp_path)] == ["d-2"]
    audit.spool(tmp_path, record.to_row())  # a clean file gets no blank lines
    assert path.read_text(encoding="utf-8").count("\n") == 3
