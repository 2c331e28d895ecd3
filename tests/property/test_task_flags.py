"""Property tests (hypothesis) over every task's flags, config numbers and schema defaults:
the one-line / exit-2 / nothing-changed contract (issue 14).

Tasks run in-process through :class:`~nbaops.cli.program.NbaopsProgram` with tasks.py's
namespace (as ``inv`` runs them), with ``NBAOPS_HOME`` pointing at an empty folder that
must stay empty: a refused command never builds a sandbox, writes history or state.
Small and deterministic (``derandomize``, modest ``max_examples``, no deadline).
"""

from __future__ import annotations

import json
import math
import string
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invoke.collection import Collection
from invoke.loader import FilesystemLoader

from nbaops.cli.program import NbaopsProgram

REPO = Path(__file__).resolve().parents[2]
NS = Collection.from_module(FilesystemLoader(start=str(REPO)).load("tasks")[0])
TASKS = sorted(NS.task_names)
SMALL = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FLAG_TEXT = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("NBAOPS_HOME", str(folder))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    monkeypatch.chdir(REPO)
    return folder


def run_inv(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    program = NbaopsProgram(namespace=NS, name="nbaops", binary="inv")
    try:
        program.run(["inv", *argv])
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out, err


def assert_refused(home: Path, code: int, out: str, err: str, json_output: bool) -> None:
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    if json_output:
        doc = json.loads(out)
        assert doc["exit_code"] == 2
    assert not home.exists() or not any(home.rglob("*")), sorted(home.rglob("*"))


@SMALL
@given(task=st.sampled_from(TASKS), flag=FLAG_TEXT, json_output=st.booleans())
def test_an_unknown_flag_on_any_task_is_refused(
    task: str, flag: str, json_output: bool, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    known = {a.name.replace("_", "-") for a in NS[task].get_arguments()}
    name = f"zz{flag}"
    if name in known:
        return
    argv = [task, *(["--json"] if json_output and "json" in known else []), f"--{name}"]
    code, out, err = run_inv(argv, capsys)
    assert_refused(home, code, out, err, json_output and "json" in known)


@SMALL
@given(name=FLAG_TEXT.filter(lambda n: n not in TASKS))
def test_an_unknown_task_is_refused(
    name: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_inv([f"zz-{name}"], capsys)
    assert_refused(home, code, out, err, False)


def _bad_number(limit: float) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=8).filter(lambda t: not _is_number(t)),
        st.sampled_from(["nan", "inf", "-inf", "1e308", "NaN", "0x10", "1_000", "--1"]),
        st.integers(min_value=int(limit) + 1, max_value=10**30).map(str),
        st.integers(max_value=-1).map(str),
    )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


NUMERIC_FLAGS = [
    (["deploys"], "limit", 1000),
    (["deploys"], "days", 400),
    (["health-check", "--service", "prediction-worker"], "timeout", 300),
    (["sandbox.reset"], "seed", 2**31 - 1),
    (["deploy", "--service", "prediction-worker", "--dry-run"], "canary", 99),
]


@pytest.mark.parametrize(("prefix", "flag", "limit"), NUMERIC_FLAGS, ids=lambda v: str(v))
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data(), json_output=st.booleans())
def test_bad_numeric_flag_values_are_refused_before_anything_runs(
    prefix: list[str],
    flag: str,
    limit: float,
    data: st.DataObject,
    json_output: bool,
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = data.draw(_bad_number(limit))
    if flag == "canary" and not value.strip():
        return  # an empty --canary means "no canary": the deploy would run
    argv = [*prefix, *(["--json"] if json_output else []), f"--{flag}={value}"]
    code, out, err = run_inv(argv, capsys)
    assert_refused(home, code, out, err, json_output)


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(profile=FLAG_TEXT.filter(lambda p: p not in ("local", "prod")))
def test_an_unknown_profile_is_refused(
    profile: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_inv(["deploys", "--profile", f"zz{profile}", "--json"], capsys)
    assert_refused(home, code, out, err, True)


# ---------------------------------------------------------------- config numbers


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**20), max_value=10**20),
    ),
    key=st.sampled_from(["timeout_s", "max_workers"]),
)
def test_runner_numbers_load_bounded_or_fail_with_one_line(value: float, key: str) -> None:
    from nbaops.checks.thresholds import RUNNER_KEYS, thresholds_from_section
    from nbaops.errors import ConfigError

    try:
        t = thresholds_from_section({key: value})
    except ConfigError as exc:
        assert exc.exit_code == 2 and "\n" not in str(exc)
        return
    loaded = t.timeout_s if key == "timeout_s" else t.max_workers
    assert math.isfinite(loaded) and 0 < loaded <= (RUNNER_KEYS[key].upper_bound or 0)


# ---------------------------------------------------------------- schema defaults

SQLISH = st.text(
    alphabet=string.ascii_letters + string.digits + " ;'\"()[],.-_*@`\\\n", max_size=40
)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(text=st.one_of(SQLISH, SQLISH.map(lambda t: "NULL; " + t), SQLISH.map(lambda t: "'" + t)))
def test_any_default_is_refused_or_becomes_exactly_one_safe_statement(text: str) -> None:
    from nbaops.bqschema import ddl
    from nbaops.bqschema.defaults import DefaultExpressionError
    from nbaops.bqschema.model import Field

    try:
        statement = ddl.add_column("nba_ops.deploys", Field("x", "STRING", default=text))
    except DefaultExpressionError as exc:
        assert "\n" not in str(exc)
        return
    parsed = sqlglot.parse(statement.sql, read="bigquery")
    assert len(parsed) == 1
    tree = parsed[0]
    forbidden = (sqlglot.exp.Drop, sqlglot.exp.Select, sqlglot.exp.Insert, sqlglot.exp.Delete,
                 sqlglot.exp.Update, sqlglot.exp.Column)  # fmt: skip
    assert not list(tree.find_all(*forbidden))


# ---------------------------------------------------------------- config files: YAML shape


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    depth=st.integers(0, 300),
    aliases=st.integers(0, 300),
    flow=st.booleans(),
    number=st.sampled_from(["1", ".nan", ".inf", "-.inf", "1e308", "2"]),
)
def test_yaml_of_any_depth_and_alias_count_loads_or_is_one_line(
    depth: int, aliases: int, flow: bool, number: str
) -> None:
    from nbaops.errors import ConfigError
    from nbaops.yaml_load import MAX_ALIASES, MAX_DEPTH, load_bounded

    nested = "[" * depth + number + "]" * depth if flow else number
    if not flow and depth:
        nested = "".join(f"\n{'  ' * (i + 1)}k{i}:" for i in range(depth)) + f" {number}"
    text = f"root: &r {nested}\n" + "".join(f"a{i}: *r\n" for i in range(aliases))
    try:
        data = load_bounded(text, "override.yaml")
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 300 and exc.exit_code == 2
        assert depth + 1 > MAX_DEPTH or aliases > MAX_ALIASES or number not in ("1", "2", "1e308")
        return
    assert isinstance(data, dict) and len(data) == aliases + 1
    assert depth + 1 <= MAX_DEPTH + 1 and aliases <= MAX_ALIASES
