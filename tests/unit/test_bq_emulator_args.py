"""``python -m nbaops.bq_emulator``'s bad arguments are one line and exit 2 (README: bad
input is one line), before any emulator is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbaops import bq_emulator
from nbaops.stdio import run_main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--python", "py"], "give the command to run after --"),
        (["--python", "py", "--"], "give the command to run after --"),
        (["--", "true"], "the following arguments are required: --python"),
    ],
)
def test_a_missing_command_or_flag_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing command printed argparse's usage line before the error, a missing
    ``--python`` argparse's usage line and its own exit: two lines for bad input."""
    code = run_main(lambda: bq_emulator.main(["--workdir", str(tmp_path / "w"), *argv]))
    assert code == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"nbaops: error: {message}\n")
    assert not (tmp_path / "w").exists()  # nothing started
