"""The kernel's one atomic write, one file lock and one first-line-of-an-exception helper."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

import pytest

from nbaops.errors import first_line
from nbaops.fsutil import (
    atomic_target,
    create_once,
    file_lock,
    write_json_atomic,
    write_text_atomic,
)


def test_atomic_write_replaces_the_file_sets_the_mode_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    target = tmp_path / "sub" / "secret.txt"
    write_text_atomic(target, "old")
    write_text_atomic(target, "new\n", mode=0o600)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["secret.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"b": 1, "a": 2})
    assert target.read_text() == '{\n "a": 2,\n "b": 1\n}\n'
    with pytest.raises(TypeError):
        write_json_atomic(target, {"x": object()})
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}
    assert os.listdir(tmp_path) == ["state.json"]


def test_an_atomic_target_written_by_another_writer_replaces_only_on_success(
    tmp_path: Path,
) -> None:
    """DuckDB's COPY writes the golden Parquet itself: to the temporary path, which
    replaces the file only when the block ends normally."""
    import duckdb

    target = tmp_path / "golden" / "games.parquet"
    con = duckdb.connect()
    with atomic_target(target, mode=0o644) as tmp:
        con.execute(f"COPY (SELECT 1 AS x) TO '{tmp}' (FORMAT PARQUET)")
    assert con.execute(f"SELECT x FROM '{target}'").fetchall() == [(1,)]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    with pytest.raises(RuntimeError), atomic_target(target) as tmp:
        con.execute(f"COPY (SELECT 2 AS x) TO '{tmp}' (FORMAT PARQUET)")
        raise RuntimeError("the writer failed half-way")
    assert con.execute(f"SELECT x FROM '{target}'").fetchall() == [(1,)]
    assert os.listdir(target.parent) == ["games.parquet"]


def test_the_lock_is_reentrant_in_a_thread_and_exclusive_for_other_holders(
    tmp_path: Path,
) -> None:
    lock_path = tmp_path / ".lock"
    with file_lock(lock_path), file_lock(lock_path):  # re-entrant: no self-deadlock
        fd = os.open(lock_path, os.O_RDWR)  # another holder (thread or process): refused
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(lock_path, os.O_RDWR)  # released once the outer block ends
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


def test_first_line_of_an_exception() -> None:
    assert first_line(ValueError("bad value\nTraceback detail")) == "bad value"
    assert first_line(ValueError("  \n")) == "ValueError"
    assert first_line(TimeoutError("took\ntoo long"), typed=True) == "TimeoutError: took"
    assert first_line(KeyError(), typed=True) == "KeyError"


def test_create_once_keeps_the_first_writers_bytes_private_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    key = tmp_path / "home" / "key"
    assert create_once(key, b"first") == b"first"
    assert create_once(key, b"second") == b"first"  # a later writer reads the winner's
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert os.listdir(key.parent) == ["key"]


def test_create_once_loses_a_race_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process links its file between our read and our link: we return its bytes."""
    key = tmp_path / "key"
    real_link = os.link

    def racing_link(src: str, dst: Path) -> None:
        key.write_bytes(b"theirs")
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    assert create_once(key, b"ours") == b"theirs"
    assert os.listdir(tmp_path) == ["key"]
