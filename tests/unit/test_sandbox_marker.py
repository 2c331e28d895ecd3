"""The sandbox marker (sandbox.json) edited by hand: one named error, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from nbaops.errors import DamagedStateError
from nbaops.sandbox import lifecycle
from nbaops.sandbox.build_settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 1, 15, 17, 0, tzinfo=dt.UTC)


def settings(home: Path) -> Settings:
    (home / "warehouse.duckdb").touch()
    (home / "cloudrun.json").touch()
    return Settings(home, ROOT, "p", "us-central1", {}, [], {}, "repo")


def current_marker(**fields: Any) -> dict[str, Any]:
    return {
        "format": lifecycle.FORMAT_VERSION,
        "schema_fingerprint": lifecycle.schema_fingerprint(ROOT),
        "now": NOW.isoformat(),
        "seed": 7,
        **fields,
    }


def test_a_current_marker_needs_nothing(tmp_path: Path) -> None:
    assert lifecycle._needs(settings(tmp_path), current_marker(), NOW) is None


def test_a_build_time_without_a_zone_names_the_marker_and_the_reset(tmp_path: Path) -> None:
    # it raised "can't subtract offset-naive and offset-aware datetimes": a traceback
    marker = current_marker(now="2026-01-15T17:00:00")
    with pytest.raises(DamagedStateError) as caught:
        lifecycle._needs(settings(tmp_path), marker, NOW)
    message = str(caught.value)
    assert str(lifecycle.marker_path(tmp_path)) in message and "sandbox.reset" in message
    assert "time zone" in message


@pytest.mark.parametrize("seed", ["abc", None, 1.5, True, -1, [7]])
def test_a_seed_that_is_not_a_number_names_the_marker_and_the_reset(
    tmp_path: Path, seed: object
) -> None:
    # int("abc") raised ValueError, int(None) TypeError: tracebacks from every task
    with pytest.raises(DamagedStateError) as caught:
        lifecycle.marker_seed(tmp_path, current_marker(seed=seed))
    message = str(caught.value)
    assert str(lifecycle.marker_path(tmp_path)) in message and "sandbox.reset" in message


def test_the_seed_defaults_when_the_marker_has_none(tmp_path: Path) -> None:
    assert lifecycle.marker_seed(tmp_path, None) == lifecycle.DEFAULT_SEED
    assert lifecycle.marker_seed(tmp_path, {"format": 1}) == lifecycle.DEFAULT_SEED
    assert lifecycle.marker_seed(tmp_path, current_marker(seed=42)) == 42


@pytest.mark.parametrize("source", [5, ["logs"], {"path": "x"}])
def test_a_game_log_source_that_is_not_a_path_names_the_marker(
    tmp_path: Path, source: object
) -> None:
    # Path(5) raised TypeError in ensure_sandbox and refresh: a traceback
    with pytest.raises(DamagedStateError, match="sandbox.reset"):
        lifecycle.marker_source(tmp_path, current_marker(from_logs=source))


def test_the_game_log_source_is_none_for_generated_data(tmp_path: Path) -> None:
    assert lifecycle.marker_source(tmp_path, None) is None
    assert lifecycle.marker_source(tmp_path, current_marker(from_logs=None)) is None
    assert lifecycle.marker_source(tmp_path, current_marker(from_logs="/x")) == "/x"


def write_marker(home: Path, **fields: Any) -> None:
    lifecycle.marker_path(home).write_text(json.dumps(current_marker(**fields)), encoding="utf-8")


def recorded_settings(home: Path) -> dict[str, Any]:
    return settings(home).to_json()


@pytest.mark.parametrize(
    "recorded",
    [
        ["p", "us-central1"],
        "settings",
        None,
        {"home": "/x"},  # keys missing
        {"home": 5, "root": "/r"},  # not a path
    ],
)
def test_build_settings_that_are_not_an_object_name_the_marker(
    tmp_path: Path, recorded: object
) -> None:
    # Settings.from_json(**list) raised TypeError inside the stand-in's new-revision hook:
    # a 500 naming a TypeError, not the file and its reset
    write_marker(tmp_path, settings=recorded)
    with pytest.raises(DamagedStateError) as caught:
        lifecycle.settings_from_marker(tmp_path)
    message = str(caught.value)
    assert str(lifecycle.marker_path(tmp_path)) in message and "sandbox.reset" in message


def test_build_settings_a_build_wrote_are_read_back(tmp_path: Path) -> None:
    assert lifecycle.settings_from_marker(tmp_path) is None  # no marker
    write_marker(tmp_path)
    assert lifecycle.settings_from_marker(tmp_path) is None  # no build completed
    write_marker(tmp_path, settings=recorded_settings(tmp_path))
    assert lifecycle.settings_from_marker(tmp_path) == settings(tmp_path)


def test_build_settings_name_the_home_the_marker_is_in(tmp_path: Path) -> None:
    # a sandbox folder copied or moved (NBAOPS_HOME pointing at the copy): the stand-in's
    # new-revision hook refreshed the data of the folder the marker was written in
    write_marker(tmp_path, settings={**recorded_settings(tmp_path), "home": "/moved/away"})
    read = lifecycle.settings_from_marker(tmp_path)
    assert read is not None and read.home == tmp_path


@pytest.mark.parametrize("summary", [["today"], "2026-01-15", 3])
def test_a_summary_that_is_not_an_object_names_the_marker(tmp_path: Path, summary: object) -> None:
    # summary.get("today") raised AttributeError: sandbox.status ended in a traceback
    with pytest.raises(DamagedStateError, match="sandbox.reset"):
        lifecycle.describe(tmp_path, current_marker(summary=summary))


def test_a_marker_without_a_summary_is_described(tmp_path: Path) -> None:
    described = lifecycle.describe(tmp_path, current_marker())
    assert described["seed"] == 7 and described["today"] is None
