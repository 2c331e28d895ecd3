"""Prod settings that must match where things really are: BigQuery location, Dockerfiles."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops.config import load_config
from nbaops.context import Context
from nbaops.deploy.image import build_request

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, mutate: Any = None) -> Path:
    data = yaml.safe_load((REPO / "nbaops.yaml").read_text())
    if mutate is not None:
        mutate(data)
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# ---------------------------------------------------------------- bigquery.location


def test_bigquery_location_defaults_to_us_and_is_not_the_cloud_run_region(tmp_path: Path) -> None:
    path = _config(tmp_path, lambda d: d["profiles"]["prod"].pop("bigquery", None))
    profile = load_config(path, "prod").profile
    assert profile.region == "us-west2" and profile.bigquery_location == "US"


def test_bigquery_location_from_the_profile_reaches_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, lambda d: d["profiles"]["prod"].update(bigquery={"location": "EU"}))
    # an emulator endpoint: anonymous credentials, no request is made by building a client
    monkeypatch.setenv("NBAOPS_BQ_ENDPOINT", "http://127.0.0.1:9")
    ctx = Context.create("prod", path)
    warehouse: Any = ctx.warehouse
    assert warehouse.location == "EU"
    # the client's default location applies to every job it creates (query, load, copy)
    assert warehouse.client.location == "EU"


def test_every_bigquery_job_call_passes_the_location() -> None:
    """Each ``client.query(...)`` in the BigQuery engine names ``location=self.location``."""
    tree = ast.parse((REPO / "nbaops/adapters/warehouse_bigquery.py").read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("query", "load_table_from_json", "copy_table", "extract_table")
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "client"
    ]
    assert calls, "the BigQuery engine runs jobs through self.client"
    for call in calls:
        location = [k for k in call.keywords if k.arg == "location"]
        assert location and ast.unparse(location[0].value) == "self.location", ast.unparse(call)


# ---------------------------------------------------------------- Dockerfile ↔ source_paths


def test_every_service_builds_from_a_dockerfile_inside_its_source_paths() -> None:
    config = load_config(REPO / "nbaops.yaml", "prod")
    for service in config.services.values():
        assert any(
            service.dockerfile.startswith(p.rstrip("/") + "/") for p in service.source_paths
        ), f"{service.name}: {service.dockerfile} is outside {service.source_paths}"
    assert config.service("grading-service").dockerfile == "services/grading/Dockerfile"


def test_the_cloud_build_request_uses_the_service_dockerfile(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["services"]["grading-service"]["dockerfile"] = "services/grading/deploy/Dockerfile"

    ctx = Context.create("prod", _config(tmp_path, mutate))
    request = build_request(ctx, "grading-service", "a" * 40, "r/grading-service:" + "a" * 40)
    args = request["steps"][0]["args"]
    assert args[args.index("-f") + 1] == "services/grading/deploy/Dockerfile"
