"""The kernel's one atomic write, one file lock and one first-line-of-an-exception helper."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

import pytest

from nbaops.errors import OutputError, first_line
from nbaops.fsutil import (
    append_jsonl,
    atomic_target,
    create_once,
    file_lock,
    write_json_atomic,
    write_outputs,
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


def test_an_append_that_fails_part_way_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (or ``ulimit -f``) after a short write left a cut line in the alert
    outbox, and the next append was glued onto it: a line no reader could parse."""
    path = tmp_path / "outbox.jsonl"
    append_jsonl(path, [{"n": 1}])
    before = path.read_bytes()
    real_write = os.write
    calls = []

    def short_then_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:7]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    with pytest.raises(OSError, match="No space"):
        append_jsonl(path, [{"n": 2, "text": "x" * 100}])
    monkeypatch.undo()
    assert path.read_bytes() == before
    append_jsonl(path, [{"n": 3}])
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 3]


def test_an_append_after_a_writer_died_mid_line_cuts_its_fragment(tmp_path: Path) -> None:
    """``kill -9`` during an append leaves the start of a record without its newline: the
    next appender (holding the lock, so nobody is still writing it) cuts it away instead
    of gluing its own record onto it."""
    path = tmp_path / "logs.jsonl"
    append_jsonl(path, [{"n": 1}])
    with path.open("a") as handle:
        handle.write('{"n": 2, "half')
    append_jsonl(path, [{"n": 3}])
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 3]


def test_output_files_are_written_all_or_none_and_a_full_disk_names_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``inv regression --html A --junit B`` on a disk that fills up while writing B: A was
    replaced anyway (a new report beside an old JUnit file) and the error was "internal
    error: [Errno 28] ..." without the file. Now neither is replaced and the line names
    the flag and the path (OutputError, exit 3)."""
    html, junit = tmp_path / "r.html", tmp_path / "r.xml"
    html.write_text("old html")
    real = Path.write_text

    def full_for_junit(self: Path, text: str, *args: object, **kw: object) -> int:
        if self.name.startswith(".r.xml."):
            raise OSError(28, "No space left on device")
        return real(self, text, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full_for_junit)
    with pytest.raises(OutputError, match=r"^--junit: cannot write .*r\.xml: No space left"):
        write_outputs([("--html", html, "new html"), ("--junit", junit, "<xml/>")])
    monkeypatch.undo()
    assert html.read_text() == "old html" and not junit.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary left
    assert OutputError("x").exit_code == 3
    write_outputs([("--html", html, "new html"), ("--junit", junit, "<xml/>")])
    assert (html.read_text(), junit.read_text()) == ("new html", "<xml/>")
    assert stat.S_IMODE(html.stat().st_mode) == 0o644
