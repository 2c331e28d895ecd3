"""The run context: config bound to a profile, plus lazily built adapters.

Every task builds one :class:`Context` and passes it to one library function. Adapters
(warehouse, Cloud Run, logs, health) are created on first use, so a task that needs only
git never imports a Google client. On the ``local`` profile the first adapter use
creates the sandbox (embedded warehouse + Cloud Run/Logging stand-in) under the state
folder and starts the stand-in server in-process on 127.0.0.1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from nbaops.config import Config, load_config
from nbaops.paths import state_home

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import CloudRun
    from nbaops.adapters.health import HealthProber
    from nbaops.adapters.logs import LogReader
    from nbaops.adapters.monitoring import MetricsReader
    from nbaops.adapters.warehouse import Warehouse
    from nbaops.local.standin import StandIn


@dataclass
class Context:
    config: Config
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(cls, profile: str | None = None, config_path: Path | None = None) -> Context:
        return cls(config=load_config(config_path, profile))

    @property
    def profile(self) -> str:
        return self.config.profile.name

    @property
    def is_local(self) -> bool:
        return self.config.profile.is_local

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def home(self) -> Path:
        """The local state folder (``.nbaops/`` or ``$NBAOPS_HOME``)."""
        return state_home(self.root)

    @cached_property
    def standin(self) -> StandIn:
        """The local Cloud Run + Logging stand-in (local profile only), sandbox ensured."""
        from nbaops.local.standin import StandIn
        from nbaops.sandbox.lifecycle import ensure_sandbox

        with self._lock:
            ensure_sandbox(self)
            return StandIn.start(self.home)

    @cached_property
    def warehouse(self) -> Warehouse:
        from nbaops.adapters.warehouse import open_warehouse

        if self.is_local:
            from nbaops.sandbox.lifecycle import ensure_sandbox

            with self._lock:
                ensure_sandbox(self)
        return open_warehouse(self)

    @cached_property
    def cloudrun(self) -> CloudRun:
        from nbaops.adapters.cloudrun import CloudRun

        endpoint = self.standin.url if self.is_local else None
        return CloudRun(self.config.profile, endpoint=endpoint)

    @cached_property
    def logs(self) -> LogReader:
        from nbaops.adapters.logs import LogReader

        endpoint = self.standin.url if self.is_local else None
        return LogReader(self.config.profile, endpoint=endpoint)

    @cached_property
    def monitoring(self) -> MetricsReader:
        """Cloud Monitoring (local: the stand-in's gRPC MetricService). Import on first use."""
        from nbaops.adapters.monitoring import MetricsReader

        endpoint = None
        if self.is_local:
            from nbaops.local.monitoring_grpc import MonitoringServer

            endpoint = MonitoringServer.start(self.standin.home).target
        return MetricsReader(self.config.profile, endpoint=endpoint)

    @cached_property
    def health(self) -> HealthProber:
        from nbaops.adapters.health import HealthProber

        return HealthProber(authenticated=not self.is_local)
