"""The stand-in's Cloud Monitoring MetricService over gRPC, for the official client.

``google-cloud-monitoring`` has gRPC transports only, so the local profile needs a gRPC
server: ``google.monitoring.v3.MetricService/ListTimeSeries`` served by a generic
handler with the client's own proto-plus (de)serializers. Each request is translated to
the REST query parameters of ``projects.timeSeries.list`` and answered by
:func:`nbaops.local.monitoring_api.list_time_series`, the one implementation shared
with the HTTP route; stand-in errors become gRPC status codes. Every call is appended to
the stand-in's request log as method ``GRPC``, after the translated REST request passed
the same discovery-document contract check as the HTTP routes
(:mod:`nbaops.local.discovery`, monitoring.v3).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

from nbaops.clock import rfc3339
from nbaops.local import monitoring_api, request_log
from nbaops.local.cloudrun_state import StandInApiError
from nbaops.local.world import NO_FAULTS, WorldHooks

SERVICE = "google.monitoring.v3.MetricService"
METHOD = "ListTimeSeries"


def to_params(request: Any) -> tuple[str, dict[str, Any]]:
    """A ``ListTimeSeriesRequest`` as (project, REST query parameters)."""
    project = str(request.name).removeprefix("projects/")
    params: dict[str, Any] = {"filter": str(request.filter)}
    if "interval" in request:
        if "start_time" in request.interval:
            params["interval.startTime"] = rfc3339(request.interval.start_time)
        if "end_time" in request.interval:
            params["interval.endTime"] = rfc3339(request.interval.end_time)
    if "aggregation" in request:
        agg = request.aggregation
        if "alignment_period" in agg:
            params["aggregation.alignmentPeriod"] = _duration_json(agg.alignment_period)
        params["aggregation.perSeriesAligner"] = agg.per_series_aligner.name
        params["aggregation.crossSeriesReducer"] = agg.cross_series_reducer.name
        if agg.group_by_fields:
            params["aggregation.groupByFields"] = [str(f) for f in agg.group_by_fields]
    if request.page_size:
        params["pageSize"] = str(request.page_size)
    if request.page_token:
        params["pageToken"] = str(request.page_token)
    return project, params


def _duration_json(value: dt.timedelta) -> str:
    """A Duration in its JSON form, as the REST route receives it: ``"60s"``, ``"60.500s"``.

    Protobuf's JSON mapping writes 0, 3, 6 or 9 fractional digits (proto-plus keeps
    microseconds). Never cut to whole seconds: the shared REST rule judges the period sent.
    """
    micros = value // dt.timedelta(microseconds=1)
    seconds, fraction = divmod(abs(micros), 1_000_000)
    sign = "-" if micros < 0 else ""
    if not fraction:
        return f"{sign}{seconds}s"
    return f"{sign}{seconds}.{f'{fraction:06d}'.removesuffix('000')}s"


def _status(exc: StandInApiError) -> Any:
    """The gRPC code of a stand-in error: Google's status names are gRPC's code names."""
    import grpc

    return getattr(grpc.StatusCode, exc.status, grpc.StatusCode.INTERNAL)


@dataclass
class MonitoringServer:
    """A running gRPC MetricService for one state folder (one per folder per process)."""

    home: Path
    server: Any
    port: int
    _instances: ClassVar[dict[str, MonitoringServer]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @property
    def target(self) -> str:
        """``127.0.0.1:PORT`` (the reader's ``endpoint``)."""
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(cls, home: Path, hooks: WorldHooks = NO_FAULTS) -> MonitoringServer:
        """The server for ``home`` in this process, started on first call with ``hooks``.

        ``hooks`` (:mod:`nbaops.local.world`) give the simulation's seed and canary faults.
        """
        import grpc
        from google.cloud.monitoring_v3.types import (
            ListTimeSeriesRequest,
            ListTimeSeriesResponse,
        )

        key = str(Path(home).resolve())
        with cls._lock:
            existing = cls._instances.get(key)
            if existing is not None:
                return existing
            folder = Path(key)

            def list_time_series(request: Any, context: Any) -> Any:
                from nbaops.local import api_faults

                project, params = to_params(request)
                path = f"/v3/projects/{project}/timeSeries"
                query = urlencode(params, doseq=True)
                try:
                    request_log.check_and_record(
                        folder, "GET", path, query, logged_as=("GRPC", f"/{SERVICE}/{METHOD}")
                    )
                    fault = api_faults.take_fault(folder, "monitoring", service=None, method="GRPC")
                    if fault is not None:
                        raise api_faults.fault_error(fault)
                    reply = monitoring_api.list_time_series(folder, project, params, hooks)
                except StandInApiError as exc:
                    context.abort(_status(exc), str(exc))
                return ListTimeSeriesResponse.from_json(
                    json.dumps(reply), ignore_unknown_fields=True
                )

            handler = grpc.method_handlers_generic_handler(
                SERVICE,
                {
                    METHOD: grpc.unary_unary_rpc_method_handler(
                        list_time_series,
                        request_deserializer=ListTimeSeriesRequest.deserialize,
                        response_serializer=ListTimeSeriesResponse.serialize,
                    )
                },
            )
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
            server.add_generic_rpc_handlers((handler,))
            port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            instance = cls(home=folder, server=server, port=port)
            cls._instances[key] = instance
            return instance

    def stop(self) -> None:
        self.server.stop(grace=None)
        with self._lock:
            if self._instances.get(str(self.home)) is self:
                del self._instances[str(self.home)]
