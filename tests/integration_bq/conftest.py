"""BigQuery emulator tests: the real google-cloud-bigquery client through BigQueryWarehouse.

``nox -s integration-bq`` starts ``bqemulator`` on 127.0.0.1 and sets
``NBAOPS_BQ_EMULATOR`` to its REST endpoint. Without that variable every test here is
skipped with the reason, so the default test run is unaffected; with it, an emulator that
cannot be reached fails the tests (a session whose every test skipped tested nothing).
"""

from __future__ import annotations

import os
import urllib.error
import uuid
from collections.abc import Iterator

import pytest

from nbaops.adapters.stdlib_http import opener_for
from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse

ENDPOINT_ENV = "NBAOPS_BQ_EMULATOR"


def emulator_endpoint() -> str:
    endpoint = os.environ.get(ENDPOINT_ENV, "").rstrip("/")
    if not endpoint:
        pytest.skip(
            f"no BigQuery emulator: {ENDPOINT_ENV} is not set (run `nox -s integration-bq`)"
        )
    url = f"{endpoint}/bigquery/v2/projects/probe/datasets"
    try:  # the loopback without the environment's proxy, as nbaops' clients reach it
        with opener_for(url).open(url, timeout=3) as reply:
            reply.read()
    except (urllib.error.URLError, OSError) as exc:
        # NBAOPS_BQ_EMULATOR is set by `python -m nbaops.bq_emulator` for the run it
        # started: unreachable then is a broken session, not a missing emulator (through
        # an HTTP_PROXY every test skipped and `nox -s integration-bq` passed)
        pytest.fail(f"BigQuery emulator at {endpoint} is not reachable: {exc}")
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
