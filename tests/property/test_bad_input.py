"""Bad input never produces a traceback: property tests (hypothesis) over config files,
schema files and task arguments.

- A random mutation of ``nbaops.yaml`` either loads (and every section's settings build)
  or fails with :class:`~nbaops.errors.ConfigError`/``UsageError``: exit 2 and a one-line
  message through the tasks' runner. Never another exception.
- Random bytes or random JSON given to the ``bq-schema-lint`` hook give findings and an
  exit code, never an exception.
- Random service names, dates, windows and canary percentages give a one-line error and
  exit 2, and the Cloud Run stand-in receives no mutating request.

Deterministic (``derandomize=True``) and small (``max_examples`` modest, ``deadline=None``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbaops.errors import UsageError

REPO = Path(__file__).resolve().parents[2]

BASE_CONFIG: dict[str, Any] = yaml.safe_load((REPO / "nbaops.yaml").read_text(encoding="utf-8"))
SERVICES = tuple(BASE_CONFIG["services"])

FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------- config files

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*prefix, index)))
    return out


ALL_PATHS = [p for p in _paths(BASE_CONFIG) if p]


@st.composite
def mutated_config(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE_CONFIG)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            leaf = path[-1]
            _ = parent[leaf]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
        action = draw(st.sampled_from(["set", "delete", "rename", "add"]))
        if action == "set":
            parent[leaf] = draw(SCALARS)
        elif action == "delete":
            del parent[leaf]
        elif action == "rename" and isinstance(parent, dict):
            parent[str(leaf) + draw(st.sampled_from(["x", "_", "s"]))] = parent.pop(leaf)
        elif action == "add" and isinstance(parent[leaf], dict):
            parent[leaf][draw(st.text(min_size=1, max_size=12))] = draw(SCALARS)
    return data


def build_every_section(config: Any) -> None:
    """What the tasks do with a loaded config: every section's typed settings."""
    from nbaops.alerts.settings import AlertSettings
    from nbaops.checks.thresholds import load_thresholds
    from nbaops.deploy.settings import DeploySettings
    from nbaops.drift.settings import DriftSettings
    from nbaops.regression.settings import RegressionSettings

    load_thresholds(config)
    config.settings("deploy", DeploySettings)
    config.settings("alerts", AlertSettings)
    config.settings("drift", DriftSettings)
    config.settings("regression", RegressionSettings)
    for name in config.service_names:
        config.service(name)


def _one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


@FAST
@given(data=mutated_config())
def test_a_mutated_config_loads_or_fails_with_one_line_config_error(
    data: dict[str, Any], tmp_path: Path
) -> None:
    from nbaops.config import load_config

    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        build_every_section(load_config(path, "local"))
    except UsageError as exc:  # ConfigError and unknown-profile errors: exit 2
        assert exc.exit_code == 2
        assert _one_line(str(exc)), str(exc)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    raw=st.one_of(
        st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace"))
    )
)
def test_garbage_config_exits_2_with_one_line_through_the_runner(
    raw: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from nbaops.cli.runner import run
    from nbaops.report import CheckReport

    path = tmp_path / "nbaops.yaml"
    path.write_bytes(raw)
    monkeypatch.setenv("NBAOPS_CONFIG", str(path))
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    capsys.readouterr()
    code = run(lambda ctx: CheckReport("noop", []), json_output=False)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and _one_line(err), err
    assert str(path.name) in err or "config" in err.lower()


# ---------------------------------------------------------------- schema files


def _lint(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    from hooks.bq_schema_lint import main

    capsys.readouterr()
    code = main([str(path), "--json"])
    return code, json.loads(capsys.readouterr().out)


JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.sampled_from(
            [
                "STRING",
                "RECORD",
                "NUMERIC",
                "INT64",
                "REPEATED",
                "REQUIRED",
                "name",
                "type",
                "mode",
                "fields",
            ]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "type",
                    "mode",
                    "fields",
                    "description",
                    "precision",
                    "scale",
                    "maxLength",
                    "schema",
                    "defaultValueExpression",
                    "policyTags",
                    "x",
                ]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@FAST
@given(raw=st.binary(max_size=400))
def test_lint_hook_reports_findings_for_random_bytes_never_raises(
    raw: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "table.json"
    path.write_bytes(raw)
    code, doc = _lint(path, capsys)
    assert code in (0, 1)
    assert isinstance(doc["findings"], list)
    if code == 1:
        assert doc["findings"], "a failing lint must say why"


@FAST
@given(value=JSONISH)
def test_lint_hook_reports_findings_for_random_json_never_raises(
    value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "table.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    code, doc = _lint(path, capsys)
    assert code in (0, 1)
    if code == 1:
        assert doc["findings"]


# ---------------------------------------------------------------- task arguments


@pytest.fixture
def deploy_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from worlds import deploy_world

    world = deploy_world.make_world(tmp_path, monkeypatch)
    yield world
    world.standin.stop()


def _expect_usage_error(world: Any, action: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the tasks' runner: exit 2, one line on stderr, no mutating request."""
    from nbaops.cli.runner import run

    since = len(world.requests())
    capsys.readouterr()
    code = run(lambda _ctx: action(), json_output=False)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and _one_line(err), err
    assert world.mutating(since) == []


NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30
).filter(lambda s: s not in SERVICES)


@FAST
@given(service=NAMES)
def test_unknown_service_names_exit_2_and_change_nothing(
    service: str, deploy_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.deploy.deploy import DeployRequest, run_deploy
    from nbaops.deploy.rollback import run_rollback
    from nbaops.services_status import deployed_commit_report

    ctx = deploy_env.context()
    _expect_usage_error(deploy_env, lambda: run_deploy(ctx, DeployRequest(service=service)), capsys)
    _expect_usage_error(deploy_env, lambda: run_rollback(ctx, service), capsys)
    _expect_usage_error(deploy_env, lambda: deployed_commit_report(ctx, service), capsys)


@FAST
@given(
    canary=st.one_of(st.integers(max_value=0), st.integers(min_value=100)), dry_run=st.booleans()
)
def test_canary_outside_1_to_99_exits_2_and_changes_nothing(
    canary: int, dry_run: bool, deploy_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.deploy.deploy import DeployRequest, run_deploy

    ctx = deploy_env.context()
    _expect_usage_error(
        deploy_env,
        lambda: run_deploy(
            ctx, DeployRequest(service="phase4-processors", canary=canary, dry_run=dry_run)
        ),
        capsys,
    )


@FAST
@given(version=st.text(max_size=20).filter(lambda v: not _MODEL_VERSION.match(v)))
def test_bad_model_versions_exit_2_and_change_nothing(
    version: str, deploy_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbaops.deploy.deploy import DeployRequest, run_deploy

    ctx = deploy_env.context()
    _expect_usage_error(
        deploy_env,
        lambda: run_deploy(ctx, DeployRequest(service="prediction-worker", model_version=version)),
        capsys,
    )


_MODEL_VERSION = __import__("re").compile(r"^v[0-9]{1,4}(?:[._-][0-9a-z]{1,20})?$")


@FAST
@given(text=st.text(max_size=25))
def test_dates_and_windows_parse_or_raise_one_line_usage_errors(text: str) -> None:
    from nbaops import clock

    for parse in (clock.parse_date, clock.parse_duration):
        try:
            parse(text)
        except UsageError as exc:
            assert exc.exit_code == 2 and _one_line(str(exc)), str(exc)


@FAST
@given(window=st.text(min_size=1, max_size=12))  # "" means "no --window" (default)
def test_drift_windows_exit_2_or_run(
    window: str, capsys: pytest.CaptureFixture[str], deploy_env: Any
) -> None:
    from nbaops import clock
    from nbaops.drift.run import check_drift

    try:
        clock.parse_duration(window, flag="--window")
    except UsageError:
        ctx = deploy_env.context()
        _expect_usage_error(deploy_env, lambda: check_drift(ctx, window=window), capsys)
