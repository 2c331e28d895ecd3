"""CI and the reusable regression gate: every default nox session, artifacts, job summary,
inputs only through the environment, and zizmor --offline clean."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _triggers(wf: dict[str, Any]) -> dict[str, Any]:
    return wf.get("on") or wf[True]  # YAML 1.1 reads the bare key `on` as True


def _steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in wf["jobs"].values() for step in job["steps"]]


def _default_sessions() -> list[str]:
    tree = ast.parse((REPO / "noxfile.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "nox.options.sessions":
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py sets no nox.options.sessions")


def test_ci_runs_every_default_nox_session() -> None:
    """noxfile.py is the one place naming the default sessions: CI's matrix is read from it."""
    jobs = _load("ci.yml")["jobs"]
    matrix = jobs["nox"]["strategy"]["matrix"]["session"]
    assert matrix == "${{ fromJSON(needs.sessions.outputs.sessions) }}"
    assert jobs["nox"]["needs"] == "sessions"
    assert jobs["sessions"]["outputs"]["sessions"] == "${{ steps.list.outputs.sessions }}"
    assert "regression" in _default_sessions()


def test_ci_session_list_step_prints_the_default_sessions(tmp_path: Path) -> None:
    """The `sessions` job's list step, run here, outputs exactly nox.options.sessions."""
    step = next(s for s in _load("ci.yml")["jobs"]["sessions"]["steps"] if s.get("id") == "list")
    nox_bin = shutil.which("nox") or str(Path(sys.executable).parent / "nox")
    if not Path(nox_bin).exists():
        pytest.skip("nox is not installed")
    output = tmp_path / "github-output"
    work = tmp_path / "work"
    shutil.copytree(
        REPO, work, ignore=shutil.ignore_patterns(".*", "site", "reports", "*.egg-info")
    )
    env = {"PATH": f"{Path(nox_bin).parent}:/usr/bin:/bin", "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-800:]
    key, _, value = output.read_text(encoding="utf-8").strip().partition("=")
    assert key == "sessions" and json.loads(value) == _default_sessions()


def test_ci_uploads_the_regression_report_even_when_the_gate_fails() -> None:
    uploads = [s for s in _steps(_load("ci.yml")) if str(s.get("uses", "")).startswith(UPLOAD)]
    assert len(uploads) == 1
    step = uploads[0]
    assert "always()" in step["if"] and "matrix.session == 'regression'" in step["if"]
    paths = step["with"]["path"]
    assert "reports/regression/*.html" in paths and "reports/regression/*.xml" in paths
    assert step["with"]["name"] == "regression-report"


def test_regression_session_publishes_the_summary_and_refuses_skips() -> None:
    source = (REPO / "noxfile.py").read_text(encoding="utf-8")
    assert '"nbaops.regression.ci", "--reports", reports' in source
    assert "--junitxml={reports}/pytest-junit.xml" in source


def test_reusable_gate_is_called_with_a_model_or_a_predictions_artifact() -> None:
    wf = _load("regression-gate.yml")
    call = _triggers(wf)["workflow_call"]
    assert set(call) == {"inputs"} and list(_triggers(wf)) == ["workflow_call"]
    inputs = call["inputs"]
    assert {"model", "predictions-artifact", "nbaops-repository", "nbaops-ref"} <= set(inputs)
    assert wf["permissions"] == {}
    assert wf["jobs"]["gate"]["permissions"] == {"contents": "read"}
    runs = [str(s.get("run", "")) for s in _steps(wf)]
    assert all("${{" not in run for run in runs), "inputs reach scripts only through env"
    script = "\n".join(runs)
    assert 'inv regression --golden "$@"' in script
    assert "--predictions" in script and "--model" in script
    assert "python -m nbaops.regression.ci --gates" in script
    assert any(str(s.get("uses", "")).startswith(UPLOAD) for s in _steps(wf))


@pytest.mark.parametrize("name", ["ci.yml", "regression-gate.yml"])
def test_zizmor_offline_finds_nothing(name: str) -> None:
    zizmor = shutil.which("zizmor") or str(Path(__file__).parents[2] / ".venv" / "bin" / "zizmor")
    if not Path(zizmor).exists():
        pytest.skip("zizmor not installed (pip install zizmor==1.32.0)")
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
