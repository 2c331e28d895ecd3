"""BigQuery emulator tests: the real google-cloud-bigquery client through BigQueryWarehouse.

``nox -s integration-bq`` starts ``bqemulator`` on 127.0.0.1 and sets
``NBAOPS_BQ_EMULATOR`` to its REST endpoint. Without a reachable emulator every test here
is skipped with the reason, so the default test run is unaffected.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse

ENDPOINT_ENV = "NBAOPS_BQ_EMULATOR"


def emulator_endpoint() -> str:
    endpoint = os.environ.get(ENDPOINT_ENV, "").rstrip("/")
    if not endpoint:
        pytest.skip(
            f"no BigQuery emulator: {ENDPOINT_ENV} is not set (run `nox -s integration-bq`)"
        )
    try:
        with urllib.request.urlopen(
            f"{endpoint}/bigquery/v2/projects/probe/datasets", timeout=3
        ) as reply:
            reply.read()
    except (urllib.error.URLError, OSError) as exc:
        pytest.skip(f"BigQuery emulator at {endpoint} is not reachable: {exc}")
    return endpoint


@pytest.fixture(scope="session")
def endpoint() -> str:
    return emulator_endpoint()


@pytest.fixture(scope="session")
def project() -> str:
    # a fresh project per run: the emulator may be reused between runs
    return f"nbaops-bq-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def bq(endpoint: str, project: str) -> Iterator[BigQueryWarehouse]:
    yield BigQueryWarehouse(project, "us-west2", endpoint=endpoint, retry_deadline_s=5)
