"""Config loading: one-line errors naming file, key and problem; profiles; sections."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nbaops.config import load_config
from nbaops.errors import ConfigError, UnknownServiceError, UsageError

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, mutate: object = None) -> Path:
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text())
    if callable(mutate):
        mutate(data)
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_repository_config_is_valid_for_every_profile() -> None:
    for profile in ("local", "prod"):
        config = load_config(REPO / "nbaops.yaml", profile)
        assert config.profile.name == profile
        assert set(config.service_names) == {
            "phase3-processors",
            "phase4-processors",
            "prediction-coordinator",
            "prediction-worker",
            "grading-service",
        }


@pytest.mark.parametrize("profile", ["local", "prod"])
def test_every_section_of_the_repository_config_reads_as_its_settings(profile: str) -> None:
    """What the schema cannot say (a floor below its ceiling, an anomaly window that can
    hold min_history, a post_deploy entry naming real checks and keys) holds for every
    profile, so a config that would stop a task with exit 2 cannot land."""
    from types import SimpleNamespace

    from nbaops.alerts.settings import AlertSettings
    from nbaops.bqschema.breaking import RuleConfig
    from nbaops.checks import plan_post_deploy
    from nbaops.checks.thresholds import load_thresholds
    from nbaops.config import SECTIONS
    from nbaops.deploy.settings import DeploySettings
    from nbaops.drift.settings import DriftSettings
    from nbaops.regression.settings import RegressionSettings

    config = load_config(REPO / "nbaops.yaml", profile)
    readers = {
        "checks": lambda: load_thresholds(config),
        "alerts": lambda: config.settings("alerts", AlertSettings),
        "deploy": lambda: config.settings("deploy", DeploySettings),
        "drift": lambda: config.settings("drift", DriftSettings),
        "schema_rules": lambda: config.settings("schema_rules", RuleConfig),
        "regression": lambda: config.settings("regression", RegressionSettings),
    }
    assert set(readers) == set(SECTIONS)
    for read in readers.values():
        read()
    for service in config.services.values():
        planned = plan_post_deploy(SimpleNamespace(config=config), service)  # type: ignore[arg-type]
        assert [p.spec.id for p in planned] == [e["check"] for e in service.post_deploy]


def test_the_shipped_prod_profile_caps_what_one_query_can_bill() -> None:
    """A cost guard on top of the partition filters (docs/first-prod-run.md): a query that
    would scan more than the cap fails before it runs, instead of billing the history."""
    cap = load_config(REPO / "nbaops.yaml", "prod").profile.bigquery_maximum_bytes_billed
    assert cap is not None and 10 * 2**20 <= cap <= 100 * 10**9


def test_default_profile_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    assert load_config(REPO / "nbaops.yaml").profile.is_local


def test_profile_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBAOPS_PROFILE", "prod")
    assert load_config(REPO / "nbaops.yaml").profile.kind == "gcp"


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown profile 'staging'; known profiles: local, prod"):
        load_config(REPO / "nbaops.yaml", "staging")


def test_wrong_type_names_file_and_key(tmp_path: Path) -> None:
    def mutate(data: dict) -> None:  # type: ignore[type-arg]
        data["services"]["phase4-processors"]["source_paths"] = "services/phase4/"

    path = write_config(tmp_path, mutate)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "services.phase4-processors.source_paths" in message
    assert "is not of type 'array'" in message
    assert info.value.exit_code == 2


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    def mutate(data: dict) -> None:  # type: ignore[type-arg]
        data["services"]["grading-service"]["ownr"] = "@x"

    with pytest.raises(ConfigError, match="services.grading-service: Additional properties"):
        load_config(write_config(tmp_path, mutate))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "nbaops.yaml"
    path.write_text("version: 1\nprofiles: [unclosed\n")
    with pytest.raises(ConfigError, match=r"nbaops.yaml:\d+:\d+: invalid YAML"):
        load_config(path)


@pytest.mark.parametrize("text", ["", "\n# only a comment\n", "---\n"])
def test_an_empty_config_says_it_is_empty(tmp_path: Path, text: str) -> None:
    """An empty nbaops.yaml read "(top level): None is not of type 'object'"."""
    path = tmp_path / "nbaops.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"nbaops.yaml: the file is empty \(no YAML document\)"):
        load_config(path)


def test_unknown_service_lists_known_ones() -> None:
    config = load_config(REPO / "nbaops.yaml", "local")
    with pytest.raises(UnknownServiceError) as info:
        config.service("phase5-processors")
    assert "unknown service 'phase5-processors'; known services: phase3-processors" in str(
        info.value
    )
    assert info.value.exit_code == 2


def test_profile_overrides_merge_into_sections(tmp_path: Path) -> None:
    def mutate(data: dict) -> None:  # type: ignore[type-arg]
        data["drift"] = {"window": "6h", "issue_label": "deployment-drift"}
        data["profiles"]["prod"]["overrides"] = {"drift": {"window": "12h"}}

    path = write_config(tmp_path, mutate)
    assert load_config(path, "prod").section("drift")["window"] == "12h"
    assert load_config(path, "prod").section("drift")["issue_label"] == "deployment-drift"
    assert load_config(path, "local").section("drift")["window"] == "6h"


def test_a_drift_issue_label_with_a_comma_is_refused(tmp_path: Path) -> None:
    """GitHub's issue list takes ``labels=a,b`` as two labels: the issue labelled
    'deploy,drift' was never found, so every sync opened another one."""
    from nbaops.drift.settings import DriftSettings

    def mutate(data: dict) -> None:  # type: ignore[type-arg]
        data["drift"] = {"issue_label": "deploy,drift"}

    config = load_config(write_config(tmp_path, mutate), "prod")
    with pytest.raises(ConfigError, match=r"drift\.issue_label: 'deploy,drift' holds a comma"):
        config.settings("drift", DriftSettings)


def test_a_passed_validation_is_remembered_and_a_changed_config_is_validated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm runs skip jsonschema for the exact config+schema that passed; any edit re-checks."""
    import shutil

    from nbaops import config as config_mod
    from nbaops.paths import project_root

    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    target = tmp_path / "nbaops.yaml"
    shutil.copy(project_root() / "nbaops.yaml", target)
    config_mod.load_config(target)
    assert not (tmp_path / "home").exists(), "loading a config created the state folder"
    (tmp_path / "home").mkdir()
    calls: list[Path] = []
    real = config_mod._validate_now
    monkeypatch.setattr(
        config_mod, "_validate_now", lambda p, d, s: (calls.append(p), real(p, d, s))[1]
    )
    config_mod.load_config(target)
    config_mod.load_config(target)
    assert len(calls) == 1, "the second load of an unchanged config validated again"
    target.write_text(target.read_text() + "\nunknown_top_level_key: 1\n")
    with pytest.raises(ConfigError):
        config_mod.load_config(target)
    with pytest.raises(ConfigError):  # a failure is never remembered
        config_mod.load_config(target)
    assert len(calls) == 3


def test_a_validation_remembered_by_other_nbaops_code_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker was keyed on the config, the schema and jsonschema only: a state folder
    shared with another checkout (or kept over an upgrade) whose validation code was laxer
    made this one skip its own checks and accept a config it refuses."""
    import os
    import shutil
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    project = tmp_path / "project"
    (project / "schemas").mkdir(parents=True)
    shutil.copy(REPO / "schemas" / "config.schema.json", project / "schemas")
    target = project / "nbaops.yaml"
    target.write_text((REPO / "nbaops.yaml").read_text() + "\nunknown_top_level_key: 1\n")
    # another nbaops: the same package, but its schema check lets this config through
    other = tmp_path / "other"
    shutil.copytree(REPO / "nbaops", other / "nbaops", ignore=shutil.ignore_patterns("__pycache__"))
    module = other / "nbaops" / "config.py"
    module.write_text(
        module.read_text().replace(
            "def _validate_now(path: Path, data: Any, schema_text: str) -> None:\n",
            "def _validate_now(path: Path, data: Any, schema_text: str) -> None:\n    return\n",
        )
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pathlib, nbaops.config as c; c.load_config(pathlib.Path(sys.argv[1]))",
            str(target),
        ],
        env={**os.environ, "PYTHONPATH": str(other)},
        cwd=tmp_path,  # not the checkout: "-c" puts the current folder first on sys.path
        check=True,
        timeout=60,
    )
    assert list((home / "config-validated").iterdir()), "the other nbaops remembered it"
    with pytest.raises(ConfigError, match="unknown_top_level_key"):
        load_config(target)


def test_a_check_result_links_its_playbook_under_alerts_runbook_base_url(
    tmp_path: Path,
) -> None:
    """The link prefix is read through the alerts settings (profile overrides merged)."""
    from nbaops.alerts.settings import runbook_base_url
    from nbaops.checks import annotate
    from nbaops.checks.registry import get_spec
    from nbaops.verdict import CheckResult, Verdict

    def with_base(data: dict) -> None:  # type: ignore[type-arg]
        data["alerts"]["runbook_base_url"] = "https://example.org/repo/blob/main/"

    spec = get_spec("lines_coverage")
    linked = load_config(write_config(tmp_path, with_base), "local")
    plain = load_config(REPO / "nbaops.yaml", "local")
    for config, expected in (
        (linked, f"https://example.org/repo/blob/main/{spec.playbook_doc}"),
        (plain, None),
    ):
        measured = CheckResult("lines_coverage", "x", Verdict.PASS, 1.0, "FAIL < 0.9", "ok")
        result = annotate(spec, measured, runbook_base_url(config))
        assert (result.doc, result.doc_url) == (spec.playbook_doc, expected)


def test_the_project_root_of_a_config_kept_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root was always the config's folder: a copy in /tmp found no schemas/ and the
    doctor checked no dataset; NBAOPS_ROOT was documented but ignored."""
    monkeypatch.delenv("NBAOPS_ROOT", raising=False)
    monkeypatch.chdir(REPO)
    copy = tmp_path / "elsewhere" / "nbaops.yaml"
    copy.parent.mkdir()
    copy.write_text((REPO / "nbaops.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_config(copy).root == REPO  # the project the command runs in
    (copy.parent / "schemas").mkdir()
    assert load_config(copy).root == copy.parent  # a project of its own
    monkeypatch.setenv("NBAOPS_ROOT", str(tmp_path))
    assert load_config(copy).root == tmp_path  # said explicitly: wins


def test_an_invalid_section_value_names_the_file_and_the_key_once(tmp_path: Path) -> None:
    """'alerts.suppression_interval: alerts.suppression_interval: ...' without the file."""
    from nbaops.alerts.settings import AlertSettings

    path = tmp_path / "nbaops.yaml"
    text = (REPO / "nbaops.yaml").read_text(encoding="utf-8")
    path.write_text(
        text.replace("  suppression_interval: 12h", "  suppression_interval: 999999999999d"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, "local").settings("alerts", AlertSettings)
    assert str(info.value) == (
        f"{path}: alerts.suppression_interval: '999999999999d' is longer than 3650d"
    )


def _swap_thresholds(data: dict) -> None:
    data.setdefault("checks", {})["lines_coverage"] = {"warn_below": 0.5, "fail_below": 0.9}


def _bad_post_deploy(data: dict) -> None:
    data["services"]["phase4-processors"]["post_deploy"] = [{"check": "lines_coverag"}]


def _bad_buckets(data: dict) -> None:
    data.setdefault("regression", {}).setdefault("buckets", {})["line"] = [20, 10]


def _bad_default_profile(data: dict) -> None:
    data["default_profile"] = "nope"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (_swap_thresholds, "checks: lines_coverage: fail_below (0.9) is greater than"),
        (_bad_post_deploy, "services.phase4-processors.post_deploy[0]: unknown check"),
        (_bad_buckets, "regression.buckets.line: edges must be increasing numbers"),
        (_bad_default_profile, "default_profile: unknown profile 'nope'"),
    ],
)
def test_every_config_error_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mutate: object, needle: str
) -> None:
    """These said only the key (README: one line naming the file, the key, the problem)."""
    from nbaops.checks import plan_post_deploy
    from nbaops.checks.thresholds import load_thresholds
    from nbaops.context import Context
    from nbaops.regression.settings import RegressionSettings

    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    path = write_config(tmp_path, mutate)
    with pytest.raises(UsageError) as info:
        config = load_config(path)
        load_thresholds(config)
        plan_post_deploy(Context(config), config.service("phase4-processors"))
        config.settings("regression", RegressionSettings)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and needle in message, message


def _canary_typo(data: dict) -> None:
    canary = data.setdefault("deploy", {}).setdefault("canary_analysis", {})
    canary["services"] = {"prediction-wrker": {"latency": {"margin": 0.05}}}


def _unreachable_limit(data: dict) -> None:
    data.setdefault("deploy", {})["observation"] = {"count": 10, "failure_limit": 50}


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        # the tighter margin meant for prediction-worker silently applied to nothing
        (_canary_typo, "canary_analysis.services: 'prediction-wrker' is not a service"),
        # FAIL rounds could never stop the deploy: all FAIL ended INCONCLUSIVE
        (_unreachable_limit, "deploy.observation.failure_limit: 50 is more than count ("),
    ],
)
def test_deploy_settings_that_could_never_apply_are_refused(
    tmp_path: Path, mutate: object, needle: str
) -> None:
    from nbaops.deploy.settings import DeploySettings

    path = write_config(tmp_path, mutate)
    with pytest.raises(ConfigError) as info:
        load_config(path, "local").settings("deploy", DeploySettings)
    assert str(info.value).startswith(f"{path}: ") and needle in str(info.value), info.value


def test_an_unquoted_game_date_in_the_checks_section_is_that_date(tmp_path: Path) -> None:
    """YAML reads ``game_date: 2025-01-15`` as a date, not text: the schema refused it
    with "datetime.date(2025, 1, 15) is not of type 'string'"; it is now the date (as in a
    post_deploy entry), checked against the same bounds as the quoted text."""
    import datetime as dt

    from nbaops.checks.thresholds import load_thresholds

    def unquoted(day: object) -> object:
        def mutate(data: dict) -> None:  # type: ignore[type-arg]
            data["checks"] = {"daily_validation": {"game_date": day}}

        return mutate

    path = write_config(tmp_path, unquoted(dt.date(2025, 1, 15)))
    assert "game_date: 2025-01-15\n" in path.read_text()  # written unquoted
    params = load_thresholds(load_config(path)).params("daily_validation")
    assert params.date() == dt.date(2025, 1, 15)

    too_far = load_config(write_config(tmp_path, unquoted(dt.date(2999, 12, 1))))
    with pytest.raises(ConfigError, match="game_date: 2999-12-01 is more than a year"):
        load_thresholds(too_far)

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, unquoted(dt.datetime(2025, 1, 14, 10, 0))))
    assert str(info.value).endswith(
        "checks.daily_validation.game_date: 2025-01-14 10:00:00 is not a date "
        "(YYYY-MM-DD, today, yesterday)"
    )


def test_an_unquoted_date_where_text_is_expected_is_named_as_written(tmp_path: Path) -> None:
    import datetime as dt

    def mutate(data: dict) -> None:  # type: ignore[type-arg]
        data["services"]["phase4-processors"]["owner"] = dt.date(2025, 1, 15)

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, mutate))
    assert str(info.value).endswith(
        "services.phase4-processors.owner: 2025-01-15 is not text (quote it: '2025-01-15')"
    )
