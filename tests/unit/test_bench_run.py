"""``python -m benchmarks.run``: a row that raises is one line on stderr and an ``error:``
row, the others still run (``benchmarks`` is importable: pyproject's pythonpath)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.harness import Row
from benchmarks.run import main, measure
from nbaops.stdio import run_main


def broken(repeats: int) -> Row:
    raise RuntimeError(f"no data after {repeats} runs\nsecond line")


def test_a_failing_row_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """A failing row printed a full traceback to stderr before its one-line reason."""
    row = measure(broken, 3)
    assert (row.id, row.available) == ("broken", False)
    assert row.reason == "error: RuntimeError: no data after 3 runs"
    out, err = capsys.readouterr()
    assert (out, err) == ("", "bench: broken: error: RuntimeError: no data after 3 runs\n")


def test_debug_shows_the_traceback_before_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    measure(broken, 1, debug=True)
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("bench: broken: error: RuntimeError: no data after 1 runs\n")


def test_an_unknown_only_row_is_one_line_exit_2_and_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--only inv_lst`` (a typo) ran no row, replaced reports/bench.{json,md} with empty
    ones and exited 0."""
    code = run_main(lambda: main(["--only", "inv_list", "inv_lst", "--out", str(tmp_path)]))
    assert code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("nbaops: error: --only: no row inv_lst; rows: system_health, inv_list")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("repeats", ["0", "-3"])
def test_repeats_below_one_is_one_line_exit_2_and_no_report(
    repeats: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--repeats 0`` (or a negative count) ran every row once, as if asked, and exited 0."""
    code = run_main(
        lambda: main(["--repeats", repeats, "--only", "inv_list", "--out", str(tmp_path)])
    )
    assert code == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"nbaops: error: --repeats: {repeats} must be at least 1\n"
    assert list(tmp_path.iterdir()) == []
