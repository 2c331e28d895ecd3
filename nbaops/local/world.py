"""What the stand-in asks of the world it serves, injected by whoever builds that world.

The stand-in (:mod:`nbaops.local`) simulates Google's APIs; the data it simulates *about*
(the sandbox's seed and faults) belongs to :mod:`nbaops.sandbox`, a layer above. So
``local/`` never imports the sandbox: the sandbox passes its answers in as a
:class:`WorldHooks` (``StandIn.start(home, hooks)``, ``MonitoringServer.start(home, hooks)``).
Without hooks the stand-in serves a world without faults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SEED = 7
# Cloud Run's request metrics are "Sampled every 60 seconds. After sampling, data is not
# visible for up to 180 seconds" (cloud.google.com/monitoring/api/metrics_gcp, gcp-run;
# cloud.google.com/monitoring/api/v3/latency-n-retention): the stand-in shows a minute's
# point this long after the minute ended (a typical delay, under Google's bound).
METRICS_DELAY_S = 150.0


@dataclass(frozen=True)
class WorldHooks:
    """Callbacks of the served world, each a pure function of the state folder's files.

    Attributes:
        on_new_revision: ``(home, service, revision) -> degraded``, asked once when a
            revision is created; True makes its health endpoint answer 503.
        seed: ``home -> seed`` of the simulated request metrics (Cloud Monitoring).
        canary_effects: ``(home, service, createTime) -> {fault names}`` acting on the
            simulated metrics of a revision created at ``createTime``.
        metrics_delay_s: how long after a simulated minute ends its point becomes
            visible in ``timeSeries.list`` (Cloud Monitoring's ingestion delay).
    """

    on_new_revision: Callable[[Path, str, str], bool] = lambda home, service, revision: False
    seed: Callable[[Path], int] = lambda home: DEFAULT_SEED
    canary_effects: Callable[[Path, str, str], set[str]] = lambda home, service, created: set()
    metrics_delay_s: float = METRICS_DELAY_S


NO_FAULTS = WorldHooks()
