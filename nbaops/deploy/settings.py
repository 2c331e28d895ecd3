"""The ``deploy:`` config section (with the profile's overrides), typed.

Each field is a key with its default; ``schemas/config.schema.json`` describes the same
keys so a typo fails with exit 2, and docs/deploy.md ("Config") says what each one does.
The lease (``lock_ttl_s``) is renewed every quarter of its length while a deploy runs, so
it need not exceed the observation window. ``canary_analysis`` is
:mod:`nbaops.canary.settings` (docs/canary.md).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from nbaops.canary.settings import CanarySettings
from nbaops.deploy.observe import ObservationPolicy
from nbaops.deploy.outcome import ON_INCONCLUSIVE
from nbaops.errors import ConfigError
from nbaops.settings import setting

_TAG_RE = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?\Z")


@dataclass(frozen=True)
class BuildSettings:
    repository: str | None = None  # Cloud Build connected repository (prod only)
    timeout_s: int = 1200  # the build's run, from its start (Build.timeout)
    queue_ttl_s: int = 600  # how long it may wait in the queue first (Build.queue_ttl)


@dataclass(frozen=True)
class DeploySettings:
    lock_ttl_s: float = setting(120.0, above=0)
    on_inconclusive: str = setting("rollback", choices=ON_INCONCLUSIVE)
    test_command: str = "python -m pytest -q -x tests/unit"
    test_timeout_s: float = 900.0
    health_timeout_s: float = 10.0
    health_wait_s: float = 60.0
    health_interval_s: float = 2.0
    ready_timeout_s: float = 300.0
    candidate_tag: str = "candidate"
    observation: ObservationPolicy = field(default_factory=ObservationPolicy)
    build: BuildSettings = field(default_factory=BuildSettings)
    canary_analysis: CanarySettings = field(default_factory=CanarySettings)

    def check_services(self, services: Collection[str], where: str) -> None:
        """Per-service overrides name configured services (a typo applied to nothing)."""
        unknown = sorted(set(self.canary_analysis.service_overrides) - set(services))
        if unknown:
            raise ConfigError(
                f"{where}.canary_analysis.services: {unknown[0]!r} is not a service of this "
                f"config (services: {', '.join(services)})"
            )

    def check(self, where: str) -> None:
        if not _TAG_RE.match(self.candidate_tag):
            raise ConfigError(
                f"{where}.candidate_tag: {self.candidate_tag!r} is not a traffic tag "
                "(lowercase letters, digits, '-')"
            )
