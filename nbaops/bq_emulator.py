"""Run a command against a BigQuery emulator (``bqemulator``) on 127.0.0.1.

Used by ``nox -s integration-bq``: bqemulator pins its own DuckDB/SQLGlot, so it lives
in a separate virtualenv and runs as a process. Offline it cannot download DuckDB's
``spatial`` extension, which it loads at start-up: :func:`prepare_home` copies the
extension from the PyPI package ``duckdb-extension-spatial`` (matching the emulator's
DuckDB) into ``HOME/.duckdb/extensions/v<ver>/<platform>/`` of a private HOME, so the
developer's own ``~/.duckdb`` is never touched.

    python -m nbaops.bq_emulator --python VENV/bin/python -- pytest tests/integration_bq

starts the emulator on a free port, waits until it answers, runs the command with
``NBAOPS_BQ_EMULATOR=http://127.0.0.1:PORT``, stops the emulator and exits with the
command's exit code (2 for bad arguments, a ``--python`` without ``bqemulator`` beside
it, or a command that cannot be started; 3 when the emulator cannot start).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbaops.adapters.stdlib_http import opener_for
from nbaops.errors import EXIT_UNDETERMINED, EXIT_USAGE, NbaopsError, UsageError
from nbaops.redact import printable, redact
from nbaops.stdio import parse_args, run_main, stderr_line

ENDPOINT_ENV = "NBAOPS_BQ_EMULATOR"


class EmulatorError(NbaopsError):
    """The emulator could not be prepared or did not start."""


def _platform() -> str:
    machine = platform.machine().lower()
    arch = "arm64" if machine in ("aarch64", "arm64") else "amd64"
    system = "osx" if sys.platform == "darwin" else "linux"
    return f"{system}_{arch}"


def _emulator_duckdb(python: Path) -> tuple[str, Path]:
    """(DuckDB version, spatial extension file) of the emulator's environment."""
    code = (
        "import duckdb, pathlib, duckdb_extension_spatial as s;"
        "print(duckdb.__version__);"
        "print(next(pathlib.Path(s.__file__).parent.rglob('spatial.duckdb_extension')))"
    )
    try:
        # one value a line: the extension's path may hold spaces (a venv under "My Projects")
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmulatorError(
            f"cannot find DuckDB and duckdb-extension-spatial in {python}: {exc}"
        ) from None
    if len(out) < 2:
        raise EmulatorError(f"{python} did not name DuckDB's version and spatial extension")
    return out[0], Path(out[1])


def prepare_home(python: Path, home: Path) -> Path:
    """A private HOME whose ``.duckdb/extensions`` holds the spatial extension."""
    version, extension = _emulator_duckdb(python)
    target = home / ".duckdb" / "extensions" / f"v{version}" / _platform()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(extension, target / "spatial.duckdb_extension")
    return home


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Emulator:
    """A running emulator process."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _ready(endpoint: str) -> bool:
    try:
        # the emulator listens on 127.0.0.1: opener_for never sends that through a proxy
        url = f"{endpoint}/bigquery/v2/projects/probe/datasets"
        with opener_for(url).open(url, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def start(python: Path, workdir: Path, *, timeout_s: float = 90.0) -> Emulator:
    """Start ``bqemulator`` (ephemeral, REST on 127.0.0.1:free port) and wait until it answers.

    Raises:
        UsageError: no ``bqemulator`` beside ``python`` (the wrong ``--python``, or its
            environment never got the emulator): told before anything is started.
        EmulatorError: the emulator's environment is incomplete, or it did not start.
    """
    executable = python.parent / "bqemulator"
    if not executable.exists():
        raise UsageError(
            f"--python {python}: no bqemulator in its environment; install it with "
            f"uv pip install --python {python} and the pins of noxfile.py BQEMULATOR_PINS "
            "(nox -s integration-bq does both)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    home = prepare_home(python, workdir / "home")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = workdir / "bqemulator.log"
    env = {**os.environ, "HOME": str(home)}
    command = [
        str(executable), "start", "--rest-host", "127.0.0.1", "--rest-port", str(port),
        "--grpc-host", "127.0.0.1", "--grpc-port", "0", "--ephemeral",
        "--project", "nbaops-emulator", "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    emulator = Emulator(process, endpoint, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise EmulatorError(
                f"bqemulator exited with {process.returncode}: {tail[0] if tail else '(no output)'}"
                f" (log: {log_path})"
            )
        if _ready(endpoint):
            return emulator
        time.sleep(0.3)
    emulator.stop()
    raise EmulatorError(f"bqemulator did not answer on {endpoint} within {timeout_s:g}s")


def run_foreground(command: Sequence[str], env: Mapping[str, str], *, grace_s: float = 5.0) -> int:
    """Run ``command`` in our process group and return its exit code; it never outlives us.

    A terminal's Ctrl-C goes to the whole foreground process group. ``subprocess.run`` lost
    the command when the SIGINT came while the command was being spawned: the
    KeyboardInterrupt was raised inside ``Popen()``, before there was a handle to kill it,
    and the new process had not joined the group when the signal was sent. Here SIGINT is
    blocked while the command is spawned (``posix_spawnp`` gives the command an empty signal
    mask, the default SIGPIPE/SIGXFSZ dispositions that ``subprocess`` restores too) and
    unblocked with the pid in hand. A Ctrl-C is then one of two things. It came before the
    command existed and is raised here, so the command is interrupted by us. Or it reached
    the command as well, and the command gets ``grace_s`` to stop on its own. Only then is
    it sent SIGINT, and after another ``grace_s`` it is killed. The Ctrl-C can also be
    raised just after ``waitpid`` reaped a command that the same SIGINT ended (Python runs
    the handler after the call returns): the command is gone and is not waited for again.

    Raises:
        OSError: the command cannot be started (not found, not executable).
    """
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    pid: int | None = None
    try:
        try:
            pid = os.posix_spawnp(
                command[0],
                list(command),
                dict(env),
                setsigmask=(),
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        _, status = os.waitpid(pid, 0)
        pid = None
        return os.waitstatus_to_exitcode(status)
    finally:
        if pid is not None:  # we are leaving on an exception (Ctrl-C): the command goes too
            _stop_child(pid, grace_s)


def _stop_child(pid: int, grace_s: float) -> None:
    """Give the child ``grace_s`` to exit, then SIGINT it, then SIGKILL it; reap it."""
    for stop in (signal.SIGINT, signal.SIGKILL):
        if _reaped_within(pid, grace_s):
            return
        os.kill(pid, stop)
    os.waitpid(pid, 0)


def _reaped_within(pid: int, seconds: float) -> bool:
    """Whether ``pid`` exited within ``seconds``; one we reaped already counts (ECHILD)."""
    deadline = time.monotonic() + seconds
    try:
        while os.waitpid(pid, os.WNOHANG)[0] != pid:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
    except ChildProcessError:  # reaped by run_foreground's waitpid before the Ctrl-C was raised
        pass
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nbaops.bq_emulator",
        description="Run a command with a BigQuery emulator on 127.0.0.1.",
    )
    parser.add_argument("--python", required=True, type=Path, help="Python of the emulator's venv.")
    parser.add_argument("--workdir", type=Path, default=Path(".nox/bqemulator-run"))
    parser.add_argument("command", nargs=argparse.REMAINDER, help="Command to run (after --).")
    args = parse_args(parser, argv)
    command = list(args.command or [])
    if command[:1] == ["--"]:  # the separator ends our arguments; the command keeps its own
        command = command[1:]
    if not command:
        raise UsageError("give the command to run after --")
    try:
        emulator = start(args.python, args.workdir)
    except UsageError:
        raise  # one line, exit 2 (run_main)
    except NbaopsError as exc:
        stderr_line(f"nbaops: error: {exc}")  # quotes the emulator's log: masked, escaped
        return EXIT_UNDETERMINED
    ready = f"bqemulator ready at {emulator.endpoint} (log: {emulator.log_path})"
    print(printable(redact(ready)), flush=True)  # --workdir is the caller's: escaped
    try:
        return run_foreground(command, {**os.environ, ENDPOINT_ENV: emulator.endpoint})
    except OSError as exc:  # not found, not executable: the command line is wrong
        stderr_line(f"nbaops: error: cannot run {command[0]}: {exc.strerror or exc}")
        return EXIT_USAGE
    finally:
        emulator.stop()


if __name__ == "__main__":
    raise SystemExit(run_main(main))
