"""Cloud Monitoring reader: ``projects.timeSeries.list`` through ``google.cloud.monitoring_v3``.

``google-cloud-monitoring`` ships only gRPC transports (no ``transport="rest"``; see
googleapis/google-cloud-python#16852 "Some packages only support gRPC transport"), so
the local profile switches the endpoint by handing the official client a plain
``grpc.insecure_channel`` to the stand-in's MetricService on 127.0.0.1
(:mod:`nbaops.local.monitoring_grpc`); prod builds the client with Application Default
Credentials. The same :meth:`MetricsReader.list_time_series` code runs in both.

Bounded: the interval may span at most :data:`MAX_WINDOW_S`, every call has ``timeout_s``,
and more than ``max_pages`` pages is an error rather than a silently truncated answer.
The module is imported only when a canary is analysed (the client costs ~0.3 s).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nbaops.adapters.errors import google_call, transient_retry
from nbaops.adapters.logs import cloud_run_clauses
from nbaops.errors import MonitoringError

if TYPE_CHECKING:
    from nbaops.config import ProfileConfig

MAX_WINDOW_S = 6 * 3600  # the longest interval one timeSeries.list call may ask for


@dataclass(frozen=True)
class Distribution:
    """A distribution value: ``bounds`` are the finite bucket boundaries; bucket ``i``
    holds values in ``[bounds[i-1], bounds[i])`` (bucket 0 underflow, last overflow)."""

    count: int
    mean: float
    bounds: tuple[float, ...]
    bucket_counts: tuple[int, ...]

    def weighted(self) -> list[tuple[float, float]]:
        """Each non-empty bucket as (representative value, count): the midpoint of a
        finite bucket, the edge of the underflow/overflow bucket (:meth:`intervals`)."""
        return [((lo + hi) / 2.0, count) for lo, hi, count in self.intervals()]

    def intervals(self) -> list[tuple[float, float, float]]:
        """Each non-empty bucket as (lower, upper, count): a percentile interpolates inside
        it. The underflow and overflow buckets are their finite edge (no width), a
        histogram without bounds its mean."""
        out: list[tuple[float, float, float]] = []
        for index, count in enumerate(self.bucket_counts):
            if count <= 0:
                continue
            if not self.bounds:
                lo = hi = self.mean
            elif index == 0:
                lo = hi = self.bounds[0]
            elif index >= len(self.bounds):
                lo = hi = self.bounds[-1]
            else:
                lo, hi = self.bounds[index - 1], self.bounds[index]
            out.append((lo, hi, float(count)))
        return out


@dataclass(frozen=True)
class Point:
    end: dt.datetime
    value: float | None = None
    distribution: Distribution | None = None


@dataclass(frozen=True)
class Series:
    """One series of the filtered metric, revision and service: its metric labels and points."""

    metric_labels: dict[str, str]
    points: tuple[Point, ...]


def build_filter(
    metric_type: str, *, service: str, revision: str, metric_labels: Mapping[str, str] = {}
) -> str:
    """The Monitoring filter selecting one revision's series of ``metric_type`` (only
    those with these ``metric_labels``, e.g. ``state = "active"``)."""
    metric = f"metric.type = {json.dumps(metric_type)}"
    labels = [f"metric.labels.{k} = {json.dumps(v)}" for k, v in sorted(metric_labels.items())]
    return " AND ".join([metric, *cloud_run_clauses(service, revision), *labels])


def _bounds(options: Any) -> tuple[float, ...]:
    """Finite bucket boundaries of a BucketOptions message."""
    if "exponential_buckets" in options:
        e = options.exponential_buckets
        return tuple(e.scale * e.growth_factor**i for i in range(e.num_finite_buckets + 1))
    if "linear_buckets" in options:
        lin = options.linear_buckets
        return tuple(lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1))
    if "explicit_buckets" in options:
        return tuple(float(b) for b in options.explicit_buckets.bounds)
    return ()


def _point(raw: Any) -> Point:
    end = raw.interval.end_time
    when = dt.datetime.fromtimestamp(end.timestamp(), dt.UTC)
    value = raw.value
    if "distribution_value" in value:
        d = value.distribution_value
        return Point(
            when,
            distribution=Distribution(
                count=int(d.count),
                mean=float(d.mean),
                bounds=_bounds(d.bucket_options),
                bucket_counts=tuple(int(c) for c in d.bucket_counts),
            ),
        )
    if "int64_value" in value:
        return Point(when, value=float(value.int64_value))
    if "double_value" in value:
        return Point(when, value=float(value.double_value))
    return Point(when)


class MetricsReader:
    """Read Cloud Run time series of one project.

    Args:
        profile: the project comes from here.
        endpoint: ``127.0.0.1:PORT`` of a local MetricService (gRPC); None: the real API.
        timeout_s: per call.
        max_pages: more pages than this is a :class:`~nbaops.errors.MonitoringError`.
        page_size: time series per page.
    """

    def __init__(
        self,
        profile: ProfileConfig,
        endpoint: str | None = None,
        *,
        timeout_s: float = 30.0,
        max_pages: int = 10,
        page_size: int = 1000,
    ) -> None:
        self.project = profile.project
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.max_pages = max_pages
        self.page_size = page_size

    @cached_property
    def client(self) -> Any:
        from google.cloud import monitoring_v3

        if not self.endpoint:
            return monitoring_v3.MetricServiceClient()
        import grpc
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        from nbaops.adapters.stdlib_http import no_proxy_for_loopback

        no_proxy_for_loopback(self.endpoint)  # gRPC reads http_proxy too
        channel = grpc.insecure_channel(self.endpoint)
        return monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        )

    def describe(self, metric_type: str, *, service: str, revision: str) -> str:
        """The call as one line (for a result's ``query``)."""
        return (
            f"monitoring.v3 projects.timeSeries.list projects/{self.project} "
            f"filter={build_filter(metric_type, service=service, revision=revision)}"
        )

    def list_time_series(
        self,
        metric_type: str,
        *,
        service: str,
        revision: str,
        start: dt.datetime,
        end: dt.datetime,
        alignment_s: int,
        aligner: str,
        reducer: str | None = None,
        group_by: Sequence[str] = (),
        metric_labels: Mapping[str, str] = {},
    ) -> list[Series]:
        """One revision's series of ``metric_type``: the points that end in ``(start, end]``
        (a read's TimeInterval excludes its start), aligned (only the series with these
        ``metric_labels``).

        Raises:
            MonitoringError: a bad interval, an API error or timeout, or more than
                ``max_pages`` pages.
        """
        span = (end - start).total_seconds()
        if span <= 0 or span > MAX_WINDOW_S:
            raise MonitoringError(
                f"timeSeries.list interval of {span:g}s is outside (0, {MAX_WINDOW_S:g}]s"
            )
        aggregation: dict[str, Any] = {
            "alignment_period": dt.timedelta(seconds=alignment_s),
            "per_series_aligner": aligner,
        }
        if reducer:
            aggregation["cross_series_reducer"] = reducer
            aggregation["group_by_fields"] = list(group_by)
        request = {
            "name": f"projects/{self.project}",
            "filter": build_filter(
                metric_type, service=service, revision=revision, metric_labels=metric_labels
            ),
            "interval": {"start_time": start, "end_time": end},
            "aggregation": aggregation,
            "page_size": self.page_size,
        }

        def call() -> list[Series]:
            pager = self.client.list_time_series(
                request=request, timeout=self.timeout_s, retry=transient_retry(self.timeout_s)
            )
            out: list[Series] = []
            for number, page in enumerate(pager.pages, start=1):
                if number > self.max_pages:
                    raise MonitoringError(
                        f"timeSeries.list {metric_type}: more than {self.max_pages} pages"
                    )
                for ts in page.time_series:
                    points = tuple(_point(p) for p in ts.points)
                    out.append(Series(dict(ts.metric.labels), points))
            return out

        return google_call(
            "Cloud Monitoring",
            f"timeSeries.list {metric_type}",
            call,
            error=MonitoringError,
            timeout_s=self.timeout_s,
            typed=False,
        )
