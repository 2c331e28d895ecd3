"""The ``deploy:`` config section (with the profile's overrides), typed.

Keys (all optional; defaults in brackets) — also described in
``schemas/config.schema.json`` so a typo fails with exit 2:

- ``lock_ttl_s`` [120]: the deploy lease's length. A heartbeat renews it every quarter of
  that while the deploy runs, so it need not exceed the observation window; a lease not
  renewed for this long has lapsed (its deploy is dead) and the next command recovers it.
- ``on_inconclusive`` [rollback]: ``rollback`` or ``hold`` when validation is
  INCONCLUSIVE or ERROR.
- ``test_command`` [``python -m pytest -q -x tests/unit``]: pre-deploy check 6.
- ``test_timeout_s`` [900]: bound for the test command.
- ``health_timeout_s`` [10]: one health probe.
- ``health_wait_s`` [60] / ``health_interval_s`` [2]: how long a new revision may take to
  answer healthy, and how often it is probed meanwhile.
- ``ready_timeout_s`` [300]: how long a new revision may take to become Ready.
- ``candidate_tag`` [candidate]: the traffic tag that reaches a new revision before it
  gets traffic.
- ``observation``: ``interval_s`` [30], ``count`` [10], ``failure_limit`` [1],
  ``inconclusive_limit`` [3], ``consecutive_error_limit`` [3].
- ``build``: ``repository`` (Cloud Build connected repository), ``timeout_s`` [1200] —
  prod only. The Dockerfile is per service (``services.<s>.dockerfile``, default the
  ``Dockerfile`` in its first source path).
- ``canary_analysis``: the ``--canary`` comparison with the baseline revision, read by
  :mod:`nbaops.canary.settings` (docs/canary.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nbaops.canary.settings import CanarySettings
from nbaops.deploy.observe import ObservationPolicy
from nbaops.deploy.outcome import ON_INCONCLUSIVE
from nbaops.errors import ConfigError
from nbaops.settings import setting

_TAG_RE = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")


@dataclass(frozen=True)
class BuildSettings:
    repository: str | None = None  # Cloud Build connected repository (prod only)
    timeout_s: int = 1200


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

    def check(self, where: str) -> None:
        if not _TAG_RE.match(self.candidate_tag):
            raise ConfigError(
                f"{where}.candidate_tag: {self.candidate_tag!r} is not a traffic tag "
                "(lowercase letters, digits, '-')"
            )
