"""The run context: config bound to a profile, plus lazily built adapters.

Every task builds one :class:`Context` and passes it to one library function. Adapters
(warehouse, Cloud Run, logs, health) are created on first use, so a task that needs only
git never imports a Google client. On the ``local`` profile the first adapter use asks
the injected :class:`LocalWorld` to prepare the local data (the sandbox's embedded
warehouse and stand-in state) and starts the stand-in server in-process on 127.0.0.1,
with the world's hooks. The context never imports the sandbox: the layer above injects
it (:func:`nbaops.sandbox.world.open_context`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nbaops.config import Config, ProfileConfig, load_config
from nbaops.environment import read
from nbaops.errors import ConfigError
from nbaops.paths import state_home

if TYPE_CHECKING:
    from nbaops.adapters.cloudrun import CloudRun
    from nbaops.adapters.health import HealthProber
    from nbaops.adapters.idtoken import IdTokenSource
    from nbaops.adapters.logs import LogReader
    from nbaops.adapters.monitoring import MetricsReader
    from nbaops.adapters.warehouse import Warehouse
    from nbaops.local.standin import StandIn
    from nbaops.local.world import WorldHooks


def open_warehouse(profile: ProfileConfig, home: Path, root: Path) -> Warehouse:
    """The profile's warehouse: DuckDB under the state folder ``home`` (local) or BigQuery.

    A gcp-kind profile honours ``NBAOPS_BQ_ENDPOINT`` (a BigQuery emulator, anonymous
    credentials), which the emulator tests use. ``root``: the project whose ``schemas/``
    describe the tables.
    """
    from nbaops.adapters.sql_cache import CACHE_DIR_NAME

    cache = home / CACHE_DIR_NAME
    if profile.is_local:
        from nbaops.adapters.warehouse_duckdb import WAREHOUSE_FILE, DuckDBWarehouse

        path = home / WAREHOUSE_FILE
        return DuckDBWarehouse(path, datasets=profile.datasets, root=root, sql_cache_dir=cache)
    from nbaops.adapters.warehouse_bigquery import BigQueryWarehouse

    return BigQueryWarehouse(
        profile.project,
        profile.bigquery_location,
        datasets=profile.datasets,
        maximum_bytes_billed=profile.bigquery_maximum_bytes_billed,
        endpoint=read("NBAOPS_BQ_ENDPOINT"),
        root=root,
        sql_cache_dir=cache,
    )


class LocalWorld(Protocol):
    """What the local profile serves, injected (:class:`nbaops.sandbox.world.SandboxWorld`)."""

    @property
    def hooks(self) -> WorldHooks: ...

    def ensure(self, ctx: Context) -> None:
        """Create or refresh the local data before its first use (cheap when current)."""


@dataclass
class Context:
    """What a task runs against: the config of its profile and, locally, the sandbox."""

    config: Config
    world: LocalWorld | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # a ConfigError preparing the local world (a schema file that does not parse), re-raised
    # instead of retried: the concurrent checks of one run used to retry it (and print its
    # progress line) each. Other failures (a lock held by another process) may pass: retried.
    _world_error: ConfigError | None = field(default=None, repr=False)
    # The world is ensured once per context, by the first adapter used. Each adapter
    # ensuring it again let a run that already held the warehouse file (system-health's
    # session) wait for the stand-in lock while another process's refresh, holding that
    # lock, waited for the warehouse file: both stuck until the warehouse lock timed out.
    _world_ready: bool = field(default=False, repr=False)

    @classmethod
    def create(
        cls,
        profile: str | None = None,
        config_path: Path | None = None,
        *,
        world: LocalWorld | None = None,
    ) -> Context:
        return cls(config=load_config(config_path, profile), world=world)

    def _local_world(self) -> LocalWorld:
        """The injected world, prepared under the lock (local profile only).

        Raises:
            ConfigError: a local context built without a world (a wiring bug).
        """
        if self.world is None:
            raise ConfigError(
                f"profile {self.profile!r} is local but this context has no local world; "
                "build it with nbaops.sandbox.world.open_context"
            )
        with self._lock:
            if self._world_error is not None:
                raise self._world_error.with_traceback(None)
            if not self._world_ready:
                try:
                    self.world.ensure(self)
                except ConfigError as exc:
                    self._world_error = exc
                    raise
                self._world_ready = True
        return self.world

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
        """The local Cloud Run + Logging stand-in (local profile only), world ensured."""
        from nbaops.local.standin import StandIn

        return StandIn.start(self.home, self._local_world().hooks)

    @property
    def _standin_url(self) -> str | None:
        """The stand-in as every Google client's endpoint (local); None: the real APIs."""
        return self.standin.url if self.is_local else None

    def start_warehouse(self) -> None:
        """The run will query the warehouse: on the local profile, start the embedded
        engine now, in the background, while the run's modules load (it is the run's
        first open that waits for it otherwise). Nothing happens in prod."""
        if self.is_local:
            from nbaops.adapters.duckdb_engine import start_connect

            start_connect()

    @cached_property
    def warehouse(self) -> Warehouse:
        if self.is_local:
            self._local_world()
        return open_warehouse(self.config.profile, self.home, self.root)

    @cached_property
    def cloudrun(self) -> CloudRun:
        from nbaops.adapters.cloudrun import CloudRun

        return CloudRun(self.config.profile, endpoint=self._standin_url)

    @cached_property
    def logs(self) -> LogReader:
        from nbaops.adapters.logs import LogReader

        return LogReader(self.config.profile, endpoint=self._standin_url)

    @cached_property
    def monitoring(self) -> MetricsReader:
        """Cloud Monitoring (local: the stand-in's gRPC MetricService). Import on first use."""
        from nbaops.adapters.monitoring import MetricsReader

        endpoint = None
        if self.is_local:
            from nbaops.local.monitoring_grpc import MonitoringServer

            standin = self.standin  # the world is ensured once, by the stand-in
            endpoint = MonitoringServer.start(standin.home, standin.server.hooks).target
        return MetricsReader(self.config.profile, endpoint=endpoint)

    @cached_property
    def credentials(self) -> Any:
        """Google credentials: ADC in prod, a stand-in ``authorized_user`` locally.

        Raises:
            CredentialsError: no usable ADC (prod).
        """
        from nbaops.adapters import credentials

        if self.is_local:
            return credentials.standin_user_credentials(self.standin.url)
        return credentials.default_credentials()

    @cached_property
    def id_tokens(self) -> IdTokenSource:
        """ID tokens for the services' audiences, from :attr:`credentials`."""
        from nbaops.adapters.idtoken import IdTokenSource

        return IdTokenSource(
            self.credentials,
            invoker_service_account=self.config.profile.invoker_service_account,
            iam_endpoint=self._standin_url,
        )

    @cached_property
    def health(self) -> HealthProber:
        """Health probes carrying ID tokens; locally routed to the stand-in."""
        import functools

        from nbaops.adapters.health import HealthProber
        from nbaops.adapters.idtoken import LazyIdTokens

        route = None
        if self.is_local:
            from nbaops.local.run_urls import local_route

            route = functools.partial(local_route, self.standin.url)
        return HealthProber(LazyIdTokens(lambda: self.id_tokens), route=route)
