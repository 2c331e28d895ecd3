"""``python -m nbaops.bq_emulator``'s arguments: bad ones are one line and exit 2 (README:
bad input is one line), before any emulator is started; the ``--python`` venv's answer is
read whatever its path holds."""

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


def _python_printing(venv: Path, *lines: str) -> Path:
    """An emulator venv's ``python`` that prints ``lines`` whatever it is asked."""
    venv.mkdir(parents=True)
    python = venv / "python"
    python.write_text("#!/bin/sh\n" + "".join(f"echo '{x}'\n" for x in lines), encoding="utf-8")
    python.chmod(0o755)
    return python


def test_the_spatial_extension_is_found_in_a_folder_with_spaces(tmp_path: Path) -> None:
    """The emulator's answer was split on whitespace: under "My Projects" the extension's
    path was cut at the space and its copy failed with a FileNotFoundError (exit 3,
    "internal error") instead of preparing the HOME."""
    folder = tmp_path / "My Projects"
    python = _python_printing(folder / "venv", "1.1.0", str(folder / "spatial.duckdb_extension"))
    (folder / "spatial.duckdb_extension").write_bytes(b"ext")
    home = bq_emulator.prepare_home(python, tmp_path / "home")
    copied = list(home.glob(".duckdb/extensions/v1.1.0/*/spatial.duckdb_extension"))
    assert [p.read_bytes() for p in copied] == [b"ext"]


def test_a_python_that_names_no_extension_is_one_line(tmp_path: Path) -> None:
    """A ``--python`` that prints nothing (exit 0) was an IndexError: "internal error"."""
    python = _python_printing(tmp_path / "venv")
    with pytest.raises(bq_emulator.EmulatorError, match="did not name DuckDB's version"):
        bq_emulator.prepare_home(python, tmp_path / "home")


def test_a_python_without_bqemulator_beside_it_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``--python`` whose environment has no ``bqemulator`` (the wrong interpreter, or
    the emulator never installed) exited 3, "could not determine", for a flag to correct:
    it is one line naming the interpreter and how to install it, exit 2, nothing started."""
    python = _python_printing(tmp_path / "venv", "1.1.0")
    argv = ["--python", str(python), "--workdir", str(tmp_path / "w"), "--", "true"]
    code = run_main(lambda: bq_emulator.main(argv))
    assert code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"nbaops: error: --python {python}: no bqemulator in its environment")
    assert f"uv pip install --python {python}" in err and "BQEMULATOR_PINS" in err
    assert not (tmp_path / "w").exists()


def test_the_ready_line_escapes_control_characters_of_the_workdir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "bqemulator ready at ... (log: PATH)" quotes ``--workdir``, the caller's: it was a
    bare ``print``, so an escape sequence in the folder's name reached the terminal raw
    (every line nbaops prints passes nbaops.redact: masked and escaped)."""
    from types import SimpleNamespace

    log = tmp_path / "w\x1b]0;x\x07" / "bqemulator.log"
    emulator = SimpleNamespace(endpoint="http://127.0.0.1:9050", log_path=log, stop=lambda: None)
    monkeypatch.setattr(bq_emulator, "start", lambda python, workdir: emulator)
    monkeypatch.setattr(bq_emulator, "run_foreground", lambda command, env: 0)
    assert run_main(lambda: bq_emulator.main(["--python", "py", "--", "true"])) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out, out
    assert out == f"bqemulator ready at http://127.0.0.1:9050 (log: {log})\n".replace(
        "\x1b", "\\x1b"
    ).replace("\x07", "\\x07")
