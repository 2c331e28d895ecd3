"""Issue 14 item 3: every parse error of every task is one line and exit 2 (JSON with --json).

Runs Invoke's parser in-process through :class:`NbaopsProgram` with tasks.py's namespace,
as ``inv`` does after tasks.py adopts it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from invoke.collection import Collection
from invoke.loader import FilesystemLoader
from invoke.program import Program

from nbaops.cli.flags import integer, number
from nbaops.cli.program import NbaopsProgram, adopt_running_program
from nbaops.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
NS = Collection.from_module(FilesystemLoader(start=str(ROOT)).load("tasks")[0])


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    monkeypatch.chdir(ROOT)


def inv(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    program = NbaopsProgram(namespace=NS, name="nbaops", binary="inv")
    with pytest.raises(SystemExit) as info:
        program.run(["inv", *argv])
    out, err = capsys.readouterr()
    code = info.value.code
    return int(code) if isinstance(code, int) else 1, out, err


def assert_usage(code: int, out: str, err: str, *, json_output: bool, needle: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("nbaops: error: ") and needle in err, err
    if json_output:
        doc: Any = json.loads(out)
        assert doc["exit_code"] == 2 and "verdict" not in doc and needle in doc["error"]
    else:
        assert out == ""


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["deploys", "--limit", "abc"], "--limit: 'abc' is not a whole number"),
        (["deploys", "--limit", "0"], "--limit: 0 is outside 1 to 1000"),
        (["deploys", "--days", "1e9"], "--days"),
        (["health-check", "--service", "prediction-worker", "--timeout", "abc"], "--timeout"),
        (["health-check", "--service", "prediction-worker", "--timeout", "nan"], "finite"),
        (["health-check", "--service", "prediction-worker", "--timeout", "inf"], "finite"),
        (["health-check", "--service", "prediction-worker", "--timeout", "1e308"], "outside"),
        (["sandbox.reset", "--seed", "abc"], "--seed: 'abc' is not a whole number"),
        (["sandbox.reset", "--seed", "9" * 20], f"--seed: '{'9' * 20}' is outside 0 to"),
        (["deploys", "--limit", "-" + "1" * 30], "is outside 1 to 1000"),
        (["deploy", "--service", "prediction-worker", "--canary", "abc"], "--canary"),
        (["nosuch"], "unknown task or flag 'nosuch'"),
        (["deploys", "--nope"], "unknown task or flag '--nope'"),
        (["deploys", "--limit"], "--limit needs a value"),
        (["--help", "nosuch"], "unknown task or flag 'nosuch'"),
        (["sandbox.fault"], "sandbox.fault needs its name (`inv sandbox.fault NAME` or --name;"),
        (["sandbox.sql"], "sandbox.sql needs its query (`inv sandbox.sql QUERY` or --query;"),
        # an empty value fell back to the default and went ahead, exit 0: a rollback to
        # the previous revision, a deploy straight to 100%, the sandbox rebuilt
        (["rollback", "--service", "prediction-worker", "--to", ""], "--to: an empty value"),
        (["deploy", "--service", "prediction-worker", "--canary", ""], "--canary"),
        (["sandbox.reset", "--profile", ""], "--profile: an empty value"),
        (["check-lines", "--date", ""], "--date: an empty value"),
        (["regression", "--champion", " "], "--champion: an empty value"),
        # the parameter is from_ (a Python keyword): the flag named was "--from-"
        (["regression", "--from", ""], "--from: an empty value"),
        (["regression", "--from"], "--from needs a value"),
        # other scripts' digits: int() and float() read them (a 12% canary from '١٢')
        (["deploy", "--service", "prediction-worker", "--canary", "١٢"], "--canary"),
        (["health-check", "--service", "prediction-worker", "--timeout", "١٢"], "--timeout"),
        # Python's digit separators: float() read '1_0' as 10 where --limit refused it
        (
            ["health-check", "--service", "prediction-worker", "--timeout", "1_0"],
            "--timeout: '1_0' is not a number",
        ),
        (["sandbox.reset", "--from-logs", "x" * 5000], "--from-logs: File name too long"),
    ],
)
@pytest.mark.parametrize("json_flag", [None, "--json", "-j"])  # -j: the short spelling
def test_bad_flags_and_tasks_are_one_line_exit_2(
    argv: list[str], needle: str, json_flag: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    if json_flag:
        argv = [*argv[:1], json_flag, *argv[1:]] if argv[0] != "--help" else argv
    code, out, err = inv(argv, capsys)
    assert_usage(code, out, err, json_output=bool(json_flag) and argv[0] != "--help", needle=needle)


@pytest.mark.parametrize(
    "task", ["pre-deploy", "deploy", "full-deploy", "rollback", "verify-deploy"]
)
@pytest.mark.parametrize("json_output", [False, True])
def test_a_missing_service_flag_is_the_same_usage_error_for_every_task(
    task: str, json_output: bool, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One message wherever --service is required (the services tasks' too), naming the
    known services; nothing is built or changed."""
    from nbaops.config import load_config

    known = ", ".join(load_config().service_names)
    code, out, err = inv([task, *(["--json"] if json_output else [])], capsys)
    assert_usage(code, out, err, json_output=json_output, needle="--service is required")
    assert err == f"nbaops: error: --service is required; known services: {known}\n"
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("argv", [["deploys", "-dj", "--nope"], ["check-lines", "-vj", "--date"]])
def test_json_asked_for_in_a_cluster_of_short_flags_gets_its_document(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Invoke reads ``-dj`` as ``-d -j``: a parse error then printed no JSON document."""
    code, out, err = inv(argv, capsys)
    assert_usage(code, out, err, json_output=True, needle=argv[-1])


def test_good_flags_still_parse(capsys: pytest.CaptureFixture[str]) -> None:
    program = NbaopsProgram(namespace=NS, name="nbaops", binary="inv")
    program.run(["inv", "--help", "deploys"], exit=False)
    assert "--limit" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["deploys", "--limit", "5"], {"deploys"}),
        (["check-grading", "check-lines", "--date", "today"], {"check-grading", "check-lines"}),
        (["--help", "sandbox.reset"], {"sandbox.reset"}),
        (["--help=deploys"], {"deploys"}),
        (["health-check", "--service", "deploys"], {"health-check", "deploys"}),  # a value too
    ],
)
def test_the_parser_holds_the_named_tasks_and_parses_them_as_before(
    argv: list[str], named: set[str]
) -> None:
    """Only the tasks named on the command line get a parser context (Invoke built all
    of them); those parse exactly as with every context."""
    from invoke.program import Program

    def parse(program: Program) -> Any:
        program.create_config()
        program.parse_core(["inv", *argv])
        program.parse_collection()
        program.parse_tasks()
        contexts = {name for name in program.parser.contexts if name in NS.task_names}
        parsed = [(c.name, {k: a.value for k, a in c.args.items()}) for c in program.tasks]
        return contexts, parsed, program.args.help.value

    ours, parsed, help_value = parse(NbaopsProgram(namespace=NS, name="nbaops", binary="inv"))
    stock, stock_parsed, stock_help = parse(Program(namespace=NS, name="nbaops", binary="inv"))
    assert ours == named and stock == set(NS.task_names)
    assert (parsed, help_value) == (stock_parsed, stock_help)


def _interrupt(*_args: Any, **_kwargs: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("where", "argv"),
    [
        ("invoke.program.Program.parse_tasks", ["deploys", "--json"]),  # parsing the flags
        ("invoke.program.Program.list_tasks", ["--list"]),  # printing the list
        ("invoke.executor.Executor.execute", ["deploys", "-dj"]),  # before the task's runner
    ],
)
def test_ctrl_c_outside_a_tasks_runner_is_130_not_invokes_1(
    where: str, argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while Invoke parsed the command line, printed ``--list`` or set the task up
    (the first tenth of a second of every ``inv`` run) left through Invoke's own
    ``except KeyboardInterrupt: sys.exit(1)``: exit 1, which the contract reads as "a
    check failed", and not a word said. It is an interruption like any other: one line,
    the JSON document asked for, exit 130."""
    monkeypatch.setattr(where, _interrupt)
    code, out, err = inv(argv, capsys)
    assert code == 130 and err == "nbaops: interrupted\n", (code, err)
    if any(a in ("--json", "-dj") for a in argv):
        assert json.loads(out) == {"verdict": "ERROR", "error": "interrupted", "exit_code": 130}
    else:
        assert out == "" or "Available tasks" in out


def test_ctrl_c_after_a_tasks_json_document_keeps_it_the_only_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C once a task printed its --json report (Invoke still ending the task): 130,
    and stdout keeps that one document, no "interrupted" one after it."""
    from invoke.executor import Executor

    real = Executor.execute

    def then_ctrl_c(self: Executor, *args: Any, **kwargs: Any) -> Any:
        real(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Executor, "execute", then_ctrl_c)
    code, out, err = inv(["schema-diff", "--json"], capsys)
    assert code == 130 and err.endswith("nbaops: interrupted\n"), (code, err)
    assert json.loads(out)["verdict"] == "PASS"


def test_ctrl_c_while_tasks_py_loads_the_task_modules_is_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while ``tasks.py`` imported the task modules (about a fifth of an ``inv``
    run's start) reached Invoke's ``except KeyboardInterrupt: sys.exit(1)``: exit 1, no
    word. Once the program is adopted, it is an interruption like any other: 130."""
    import invoke.main
    from invoke.exceptions import Exit

    import nbaops.cli

    program = Program(name="Invoke", binary="inv")
    program.argv = ["inv", "check-lines"]  # as Program.run sets it
    monkeypatch.setattr(invoke.main, "program", program)
    monkeypatch.setattr(nbaops.cli, "namespace", _interrupt)
    capsys.readouterr()
    with pytest.raises(Exit) as stopped:
        FilesystemLoader(start=str(ROOT)).load("tasks")
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "nbaops: interrupted\n"


@pytest.mark.parametrize("under_inv", [False, True])
def test_ctrl_c_while_tasks_py_is_read_as_data_is_the_readers_interrupt(
    under_inv: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m nbaops.docs_reference`` loads ``tasks.py`` as data, with no ``inv``
    running: a Ctrl-C there became Invoke's ``Exit`` after "nbaops: interrupted", which
    ``run_main`` then reported again as "internal error: Exit" (exit 3). It stays a
    KeyboardInterrupt for the reader's entry point: one line, 130. So under ``inv
    docs.reference``, whose program runs but has its collection loaded already."""
    import invoke.main
    from invoke.collection import Collection

    import nbaops.cli
    from nbaops.docs_reference import main
    from nbaops.stdio import run_main

    program = Program(name="Invoke", binary="inv")
    if under_inv:
        program.argv = ["inv", "docs.reference", "--check"]
        program.collection = Collection()
    monkeypatch.setattr(invoke.main, "program", program)
    monkeypatch.setattr(nbaops.cli, "namespace", _interrupt)
    capsys.readouterr()
    assert run_main(lambda: main(["--check"])) == 130
    assert capsys.readouterr().err == "nbaops: interrupted\n"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["check-drift", "--markdown-file", "out/x", "--json-file", "out/./x"], "--markdown-file"),
        (["regression", "--html", "out/x", "--junit", "out/x"], "--html"),  # as it already was
    ],
)
def test_two_output_flags_naming_one_file_are_bad_input(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``check-drift --markdown-file X --json-file X`` wrote both reports, the second
    replacing the first: exit 0 and a JSON file holding Markdown, which a later
    ``--from-report X`` could not read (regression refused ``--html X --junit X``). Refused
    before the work: one line, exit 2, no file written."""
    argv = [str(tmp_path / a) if a.startswith("out/") else a for a in argv]
    code, out, err = inv(argv, capsys)
    assert_usage(code, out, err, json_output=False, needle=f"{needle} and --")
    assert "name the same file" in err and not (tmp_path / "out" / "x").exists()


def test_the_stock_inv_program_is_adopted(monkeypatch: pytest.MonkeyPatch) -> None:
    import invoke.main

    stock = Program(name="Invoke", binary="inv")
    monkeypatch.setattr(invoke.main, "program", stock)
    adopt_running_program()
    assert type(stock) is NbaopsProgram
    assert stock.ends_process  # the process's own `inv`: ends it without teardown
    other = NbaopsProgram()
    monkeypatch.setattr(invoke.main, "program", other)
    adopt_running_program()  # already ours: unchanged
    assert type(other) is NbaopsProgram
    assert not other.ends_process  # a program someone built returns as Invoke's does


@pytest.mark.parametrize("python_flag", [0, 1])
def test_adopting_gives_back_pythons_bytecode_setting(
    monkeypatch: pytest.MonkeyPatch, python_flag: int
) -> None:
    """Invoke sets ``sys.dont_write_bytecode`` for every run; nbaops modules imported after
    ``tasks.py`` adopts the program are cached again unless Python itself was told not to
    (``-B`` / ``PYTHONDONTWRITEBYTECODE``)."""
    import types

    monkeypatch.setattr(sys, "flags", types.SimpleNamespace(dont_write_bytecode=python_flag))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # what Invoke's parse_core did
    adopt_running_program()
    assert sys.dont_write_bytecode is bool(python_flag)


@pytest.mark.parametrize(
    ("value", "ok"),
    [(None, 20), ("", None), ("5", 5), (" 7 ", 7), ("+3", 3), ("abc", None), ("1.5", None),
     ("0", None), ("1001", None), (True, None), ("9" * 30, None), ("١٢", None)],
)  # fmt: skip
def test_integer_flags(value: Any, ok: int | None) -> None:
    if ok is None:
        with pytest.raises(UsageError, match="--limit"):
            integer(value, "limit", default=20, minimum=1, maximum=1000)
    else:
        assert integer(value, "limit", default=20, minimum=1, maximum=1000) == ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [(None, 5.0), ("2.5", 2.5), ("300", 300.0), ("nan", None), ("-inf", None), ("1e308", None),
     ("0", None), ("x", None), (False, None)],
)  # fmt: skip
def test_number_flags(value: Any, ok: float | None) -> None:
    if ok is None:
        with pytest.raises(UsageError, match="--timeout"):
            number(value, "timeout", default=5.0, minimum=0.1, maximum=300.0)
    else:
        assert number(value, "timeout", default=5.0, minimum=0.1, maximum=300.0) == ok


def test_invokes_own_exit_message_is_masked_and_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``inv --list NAME`` for a collection that does not exist: Invoke's own run() printed
    "Sub-collection 'NAME' not found!" raw, past stderr_line, so a name holding an escape
    sequence (or a token pasted in its place) reached the terminal as it was. Same line
    and exit code, masked and escaped."""
    token = "ghp_LISTsecretTOKEN0123456789"
    monkeypatch.setenv("GITHUB_TOKEN", token)
    code, out, err = inv(["--list", "no\x1b[31msuch"], capsys)
    assert (code, out) == (2, "")
    assert err == "nbaops: error: Sub-collection 'no\\x1b[31msuch' not found!\n"
    code, _, err = inv(["--list", token], capsys)
    assert code == 2 and token[:12] not in err and "***" in err, err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--list", "nosuch"], "Sub-collection 'nosuch' not found!"),
        (
            ["--list", "--list-format=bogus"],
            "--list-format: 'bogus' is not one of flat, nested, json",
        ),
        (
            ["--list", "--list-format=json", "--list-depth=1"],
            "The --list-depth option is not supported with JSON format!",
        ),
    ],
)
def test_bad_list_flags_are_usage_errors_exit_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invoke ended these with exit 1, the contract's "a check failed" (and an unknown
    --list-format with an AttributeError traceback): they are bad input, one line, exit 2."""
    code, out, err = inv(argv, capsys)
    assert (code, out, err) == (2, "", f"nbaops: error: {line}\n")


def test_a_task_exit_message_ending_the_process_is_masked_and_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process's own ``inv`` (``ends_process``) printed an :class:`Exit`'s message with
    ``print`` before ending: raw, past stderr_line. Masked and escaped now, same code."""
    from invoke.exceptions import Exit

    import nbaops.cli.process_end

    def stop(code: int) -> None:
        raise SystemExit(code)

    def exit_with_message(self: Program) -> None:
        raise Exit("bad \x1b[2J news", code=4)

    monkeypatch.setattr(Program, "execute", exit_with_message)
    monkeypatch.setattr(nbaops.cli.process_end, "end_process", stop)
    monkeypatch.setattr(nbaops.cli.process_end, "can_end_early", lambda: True)
    program = NbaopsProgram(namespace=NS, name="nbaops", binary="inv")
    program.ends_process = True
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        program.execute()
    assert info.value.code == 4
    assert capsys.readouterr().err == "bad \\x1b[2J news\n"


@pytest.mark.parametrize("value", ["1_0", "1_000.5", "2.5_0", "1e1_0", "_1"])
def test_number_flags_refuse_digit_separators_as_whole_number_flags_do(value: str) -> None:
    """float() reads Python's underscores ('1_0' is 10): a number flag took a typo as a
    value while a whole-number flag refused the same text; both refuse it now, one line."""
    with pytest.raises(UsageError, match=f"--timeout: '{value}' is not a number"):
        number(value, "timeout", default=5.0, minimum=0.1, maximum=300.0)
    with pytest.raises(UsageError, match=f"--limit: '{value}' is not a whole number"):
        integer(value, "limit", default=20, minimum=1, maximum=1000)
