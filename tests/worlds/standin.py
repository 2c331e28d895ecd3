"""The Cloud Run / Logging stand-in for tests: seeded services, a private ``NBAOPS_HOME``.

Fixtures ``nbaops_home``, ``local_profile`` and ``standin`` (registered for every test
directory by ``tests/conftest.py``); import the constants and helpers by name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nbaops.config import ProfileConfig
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.local.standin import StandIn

if TYPE_CHECKING:
    from nbaops.adapters.health import HealthProber

STANDIN_PROJECT = "nbaops-local"
STANDIN_REGION = "us-west2"
STANDIN_SERVICES = (
    "phase3-processors",
    "phase4-processors",
    "prediction-coordinator",
    "prediction-worker",
    "grading-service",
)
STANDIN_NOW = dt.datetime(2024, 11, 25, 15, 0, tzinfo=dt.UTC)


def fake_sha(text: str) -> str:
    """A deterministic 40-hex commit id for test data."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def standard_seed(name: str) -> SeedService:
    """Two ready revisions (v1 older, v2 serving 100% via LATEST), commit-sha labelled."""
    return SeedService(
        name=name,
        revisions=[
            SeedRevision(
                image=f"us-west2-docker.pkg.dev/p/services/{name}:v1",
                labels={"commit-sha": fake_sha(f"{name}-1")},
                env={"MODEL_VERSION": "v8"},
                create_time=STANDIN_NOW - dt.timedelta(days=3),
            ),
            SeedRevision(
                image=f"us-west2-docker.pkg.dev/p/services/{name}:v2",
                labels={"commit-sha": fake_sha(f"{name}-2")},
                env={"MODEL_VERSION": "v9"},
                create_time=STANDIN_NOW - dt.timedelta(days=1),
            ),
        ],
    )


@pytest.fixture
def nbaops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state folder (``NBAOPS_HOME``) so no test touches the developer's .nbaops/."""
    home = tmp_path / "nbaops-home"
    home.mkdir()
    monkeypatch.setenv("NBAOPS_HOME", str(home))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    return home


@pytest.fixture
def local_profile() -> ProfileConfig:
    return ProfileConfig(name="local", kind="local", project=STANDIN_PROJECT, region=STANDIN_REGION)


@pytest.fixture
def standin(nbaops_home: Path) -> Iterator[StandIn]:
    """The stand-in serving the five services (seeded directly, no sandbox)."""
    seed_services(
        nbaops_home, STANDIN_PROJECT, STANDIN_REGION, [standard_seed(n) for n in STANDIN_SERVICES]
    )
    server = StandIn.start(nbaops_home)
    yield server
    server.stop()


STANDIN_INVOKER = "nbaops-invoker@nbaops-local.iam.gserviceaccount.com"


def standin_prober(server: StandIn) -> HealthProber:
    """The local profile's prober: stand-in user ADC → generateIdToken → routed probe."""
    import functools

    from nbaops.adapters.credentials import standin_user_credentials
    from nbaops.adapters.health import HealthProber
    from nbaops.adapters.idtoken import IdTokenSource
    from nbaops.local.run_urls import local_route

    tokens = IdTokenSource(
        standin_user_credentials(server.url),
        invoker_service_account=STANDIN_INVOKER,
        iam_endpoint=server.url,
    )
    return HealthProber(tokens, route=functools.partial(local_route, server.url))
