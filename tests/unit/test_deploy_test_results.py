"""Remembered passing pre-deploy test runs: identity and unreadable records."""

from __future__ import annotations

from pathlib import Path

from nbaops.deploy import test_results


def test_the_key_changes_with_commit_command_and_interpreter() -> None:
    base = test_results.result_key("a" * 40, "pytest -m fast", "/py")
    assert base == test_results.result_key("a" * 40, "pytest -m fast", "/py")
    assert base != test_results.result_key("b" * 40, "pytest -m fast", "/py")
    assert base != test_results.result_key("a" * 40, "pytest", "/py")
    assert base != test_results.result_key("a" * 40, "pytest -m fast", "/other/py")


def test_a_missing_or_unreadable_record_means_run_the_tests(tmp_path: Path) -> None:
    key = test_results.result_key("c" * 40, "pytest")
    assert test_results.lookup(tmp_path, key) is None
    folder = tmp_path / test_results.FOLDER
    folder.mkdir()
    (folder / f"{key}.json").write_text("{not json")
    assert test_results.lookup(tmp_path, key) is None
    (folder / f"{key}.json").write_text('{"head": "c"}')  # no passed_at: not a passing run
    assert test_results.lookup(tmp_path, key) is None
    test_results.remember(tmp_path, key, {"passed_at": "2026-11-30T15:00:00+00:00"})
    assert test_results.lookup(tmp_path, key) == {"passed_at": "2026-11-30T15:00:00+00:00"}
