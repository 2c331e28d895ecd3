"""The stand-in's Cloud Monitoring ``projects.timeSeries.list``, from simulated traffic.

Self-contained route: :func:`list_time_series` takes the REST shape of the method
(``GET /v3/projects/{p}/timeSeries`` with the discovery document's query parameters
``filter``, ``interval.startTime``, ``interval.endTime``, ``aggregation.alignmentPeriod``,
``aggregation.perSeriesAligner``, ``aggregation.crossSeriesReducer``,
``aggregation.groupByFields``, ``pageSize``, ``pageToken``; monitoring.v3.json) and
answers the ``ListTimeSeriesResponse`` JSON (camelCase, int64 as strings, newest point
first). The HTTP stand-in serves it under ``/v3/``; the gRPC bridge
(:mod:`nbaops.local.monitoring_grpc`) translates the official client's requests to it.

Traffic is simulated per minute and per revision from the service's *current* traffic
split, applied to the whole interval (the stand-in keeps no traffic history, and the
local clock may be pinned), deterministically from the world's seed, so the same minute always
answers the same numbers:

- ``run.googleapis.com/request_count`` (DELTA INT64) by ``response_code_class``
  (2xx, 4xx, 5xx), ~``RATE_PER_MINUTE`` requests split by the percentages;
- ``run.googleapis.com/request_latencies`` (DELTA DISTRIBUTION, ms, exponential
  buckets), log-normal;
- ``run.googleapis.com/container/instance_count`` (GAUGE INT64, ``state=active``).

The world's canary effects (``WorldHooks.canary_effects``, :mod:`nbaops.local.world`; the
sandbox's faults ``canary-5xx``, ``canary-latency``, ``canary-low-traffic``) change only
revisions created at or after their injection.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nbaops.clock import as_utc, rfc3339
from nbaops.local import cloudrun_state, paging
from nbaops.local.cloudrun_state import StandInApiError, invalid_argument, not_found, short
from nbaops.local.world import NO_FAULTS, WorldHooks

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"
METRIC_KINDS = {
    REQUEST_COUNT: ("DELTA", "INT64"),
    REQUEST_LATENCIES: ("DELTA", "DISTRIBUTION"),
    INSTANCE_COUNT: ("GAUGE", "INT64"),
}
# The metric label each metric's series are split by (latencies: one series a revision).
SERIES_LABEL = {REQUEST_COUNT: "response_code_class", INSTANCE_COUNT: "state"}
MAX_PAGE_SIZE = 100_000  # monitoring.v3 pageSize: the default and the maximum
MAX_WINDOW = dt.timedelta(days=1)  # the stand-in refuses to simulate more per call
RATE_PER_MINUTE = {"prediction-worker": 3000}
DEFAULT_RATE = 2400
P_4XX = 0.01
P_5XX = 0.004
P_5XX_FAULT = 0.04
LATENCY_MEDIAN_MS = 80.0
LATENCY_SIGMA = 0.5
LATENCY_FAULT_FACTOR = 1.6
LOW_TRAFFIC_FACTOR = 0.01
REQUESTS_PER_INSTANCE = 300
BUCKETS = {"numFiniteBuckets": 40, "growthFactor": 1.4, "scale": 1.0}

_CLAUSE = re.compile(r'\s*([A-Za-z_.]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_filter(text: str) -> dict[str, str]:
    """``a = "x" AND b = "y"`` → ``{a: x, b: y}`` (the subset nbaops sends).

    Raises:
        StandInApiError: 400 for anything else.
    """
    out: dict[str, str] = {}
    for clause in re.split(r"\s+AND\s+", text.strip()):
        match = _CLAUSE.fullmatch(clause)
        if not match:
            raise invalid_argument(f"unsupported filter clause {clause!r}")
        key = match.group(1).replace("resource.label.", "resource.labels.")
        out[key.replace("metric.label.", "metric.labels.")] = match.group(2)
    if "metric.type" not in out:
        raise invalid_argument("the filter must name metric.type")
    return out


def _time(params: Mapping[str, str], key: str) -> dt.datetime:
    raw = params.get(key)
    if not raw:
        raise invalid_argument(f"{key} is required")
    try:
        return as_utc(raw)
    except ValueError as exc:
        raise invalid_argument(f"{key}: {raw!r} is not RFC 3339") from exc


def _duration(raw: str | None) -> int:
    if not raw:
        return 60
    # Aggregation.alignment_period: "The value must be at least 60 seconds" (monitoring v3
    # common.proto); nothing asks for a multiple of 60 (whole seconds here: the simulation
    # is per second, and nbaops sends whole seconds).
    match = re.fullmatch(r"(\d+)(?:\.0+)?s", raw)
    if not match or int(match.group(1)) < 60:
        raise invalid_argument(f"aggregation.alignmentPeriod {raw!r}: must be at least 60s")
    return int(match.group(1))


# --------------------------------------------------------------------------- simulation


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (small means only)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw: Poisson tails where the normal approximation is poor."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n * p < 30:
        return min(n, _poisson(rng, n * p))
    if n * (1 - p) < 30:
        return max(0, n - _poisson(rng, n * (1 - p)))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _bucket_probabilities(median: float) -> list[float]:
    """P(latency in each bucket) of the log-normal with this median (underflow, finite
    buckets, overflow)."""
    scale, growth, finite = BUCKETS["scale"], BUCKETS["growthFactor"], BUCKETS["numFiniteBuckets"]
    bounds = [scale * growth**i for i in range(int(finite) + 1)]

    def cdf(x: float) -> float:
        z = (math.log(x) - math.log(median)) / LATENCY_SIGMA
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    edges = [0.0, *(cdf(b) for b in bounds), 1.0]
    return [max(0.0, b - a) for a, b in zip(edges, edges[1:], strict=False)]


def _minute(
    seed: int, service: str, revision: str, minute: dt.datetime, share: float, effects: set[str]
) -> dict[str, Any]:
    """One revision's traffic in one minute: counts by class, latency histogram, instances."""
    rng = random.Random(f"{seed}:{service}:{revision}:{minute.isoformat()}")
    mean = RATE_PER_MINUTE.get(service, DEFAULT_RATE) * share
    if "canary-low-traffic" in effects:
        mean *= LOW_TRAFFIC_FACTOR
    n = max(0, round(rng.gauss(mean, math.sqrt(mean)))) if mean > 0 else 0
    p5 = P_5XX_FAULT if "canary-5xx" in effects else P_5XX
    median = LATENCY_MEDIAN_MS * (LATENCY_FAULT_FACTOR if "canary-latency" in effects else 1.0)
    errors = _binomial(rng, n, p5)
    client = _binomial(rng, n - errors, P_4XX / (1 - p5))
    classes = {"2xx": n - errors - client, "4xx": client, "5xx": errors}
    buckets, left, mass = [], n, 1.0  # a multinomial as conditional binomials
    for prob in _bucket_probabilities(median):
        count = _binomial(rng, left, min(1.0, prob / mass)) if mass > 0 else 0
        buckets.append(count)
        left -= count
        mass -= prob
    buckets[-1] += left
    return {
        "classes": classes,
        "buckets": buckets,
        "count": n,
        "mean": median * math.exp(LATENCY_SIGMA**2 / 2),
        "instances": max(1, math.ceil(n / REQUESTS_PER_INSTANCE)) if n else 0,
    }


def _raw_series(
    home: Path,
    project: str,
    where: Mapping[str, str],
    start: dt.datetime,
    end: dt.datetime,
    hooks: WorldHooks,
) -> list[dict[str, Any]]:
    """Unaligned per-minute series matching the filter: ``{metric, resource, points}``."""
    metric_type = where["metric.type"]
    if metric_type not in METRIC_KINDS:
        return []
    if where.get("resource.type", "cloud_run_revision") != "cloud_run_revision":
        return []
    state = cloudrun_state.load_state(home)
    seed = hooks.seed(home)
    out: list[dict[str, Any]] = []
    for full, svc in sorted(state["services"].items()):
        if not full.startswith(f"projects/{project}/"):
            continue
        service = short(full)
        if where.get("resource.labels.service_name", service) != service:
            continue
        region = full.split("/")[3]
        shares: dict[str, float] = {}
        for entry in cloudrun_state.resolve_traffic(state, svc):
            if entry.get("revision"):
                rev = entry["revision"]
                shares[rev] = shares.get(rev, 0.0) + float(entry.get("percent") or 0) / 100.0
        for revision, share in sorted(shares.items()):
            if share <= 0 or where.get("resource.labels.revision_name", revision) != revision:
                continue
            record = state["revisions"].get(f"{full}/revisions/{revision}") or {}
            created_text = str(record.get("createTime") or "1970-01-01T00:00:00Z")
            effects = hooks.canary_effects(home, service, created_text)
            resource = {
                "type": "cloud_run_revision",
                "labels": {
                    "project_id": project,
                    "service_name": service,
                    "revision_name": revision,
                    "location": region,
                    "configuration_name": service,
                },
            }
            minute = start.replace(second=0, microsecond=0)
            per_label: dict[str, list[tuple[dt.datetime, Any]]] = {}
            while minute < end:
                sim = _minute(seed, service, revision, minute, share, effects)
                if metric_type == REQUEST_COUNT:
                    for cls, count in sim["classes"].items():
                        per_label.setdefault(cls, []).append((minute, count))
                elif metric_type == REQUEST_LATENCIES and sim["count"]:
                    per_label.setdefault("", []).append((minute, sim))
                elif metric_type == INSTANCE_COUNT:
                    per_label.setdefault("active", []).append((minute, sim["instances"]))
                minute += dt.timedelta(minutes=1)
            for label, points in per_label.items():
                labels = {SERIES_LABEL[metric_type]: label} if metric_type in SERIES_LABEL else {}
                if any(where.get(f"metric.labels.{k}", v) != v for k, v in labels.items()):
                    continue
                out.append(
                    {
                        "metric": {"type": metric_type, "labels": labels},
                        "resource": resource,
                        "points": points,
                    }
                )
    return out


# --------------------------------------------------------------------------- aggregation


_ALIGNERS: dict[str, Callable[[Sequence[Any]], Any]] = {
    "ALIGN_MAX": max,
    "ALIGN_MIN": min,
    "ALIGN_MEAN": lambda values: sum(values) / len(values),
}


def _merge(values: Sequence[Any], kind: str, aligner: str) -> Any:
    if kind == "DISTRIBUTION":
        count = sum(v["count"] for v in values)
        buckets = [sum(col) for col in zip(*(v["buckets"] for v in values), strict=True)]
        mean = sum(v["mean"] * v["count"] for v in values) / count if count else 0.0
        return {"count": count, "mean": mean, "buckets": buckets}
    # ALIGN_DELTA / ALIGN_SUM / ALIGN_NONE of a DELTA count: the sum
    return _ALIGNERS.get(aligner, sum)(values)


def _value(kind: str, value: Any) -> dict[str, Any]:
    if kind == "DISTRIBUTION":
        return {
            "distributionValue": {
                "count": str(value["count"]),
                "mean": value["mean"],
                "bucketOptions": {"exponentialBuckets": dict(BUCKETS)},
                "bucketCounts": [str(c) for c in value["buckets"]],
            }
        }
    if isinstance(value, float) and not value.is_integer():
        return {"doubleValue": value}
    return {"int64Value": str(int(value))}


def _label(series: Mapping[str, Any], field: str) -> str:
    parts = field.replace(".label.", ".labels.").split(".")
    if len(parts) == 3 and parts[1] == "labels" and parts[0] in ("metric", "resource"):
        return str(series[parts[0]]["labels"].get(parts[2], ""))
    raise invalid_argument(f"unsupported groupByFields {field!r}")


def list_time_series(
    home: Path, project: str, params: Mapping[str, Any], hooks: WorldHooks = NO_FAULTS
) -> dict[str, Any]:
    """Answer ``projects.timeSeries.list`` (REST shape in and out; see the module docstring).

    ``params`` maps each query parameter to a string or a list of strings; ``hooks``
    give the simulation's seed and the canary faults (:mod:`nbaops.local.world`).

    Raises:
        StandInApiError: 400 for a bad filter, interval or aggregation, a negative
            ``pageSize`` or a ``pageToken`` not issued for these arguments.
    """
    flat: dict[str, str] = {}
    groups: list[str] = []
    for key, value in params.items():  # names and types: checked by the discovery contract
        values = [value] if isinstance(value, str) else list(value)
        if key == "aggregation.groupByFields":
            groups.extend(str(v) for v in values)
        elif values:
            flat[key] = str(values[-1])
    where = parse_filter(flat.get("filter", ""))
    size = paging.page_size(flat.get("pageSize"), default=MAX_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    end = _time(flat, "interval.endTime")
    start = _time(flat, "interval.startTime") if flat.get("interval.startTime") else end
    if start > end or end - start > MAX_WINDOW:
        raise invalid_argument("interval: start after end or over 1 day")
    period = _duration(flat.get("aggregation.alignmentPeriod"))
    aligner = flat.get("aggregation.perSeriesAligner", "ALIGN_NONE")
    reducer = flat.get("aggregation.crossSeriesReducer", "REDUCE_NONE")
    kind, value_type = METRIC_KINDS.get(where["metric.type"], ("GAUGE", "INT64"))
    raw = _raw_series(home, project, where, start, end, hooks)
    aligned: list[dict[str, Any]] = []
    for series in raw:
        windows: dict[int, list[Any]] = {}
        for minute, value in series["points"]:
            index = int((minute - start).total_seconds()) // period
            windows.setdefault(index, []).append(value)
        points = {i: _merge(v, value_type, aligner) for i, v in windows.items()}
        aligned.append({**series, "points": points})
    if reducer != "REDUCE_NONE":
        grouped: dict[tuple[str, ...], dict[str, Any]] = {}
        for series in aligned:
            group = tuple(_label(series, f) for f in groups)
            if group not in grouped:  # its series carries only the grouped-by labels
                by_field = list(zip(groups, group, strict=True))
                grouped[group] = {"parts": {}}
                for side in ("metric", "resource"):
                    labels = {f.rsplit(".", 1)[-1]: v for f, v in by_field if f.startswith(side)}
                    grouped[group][side] = {"type": series[side]["type"], "labels": labels}
            for index, value in series["points"].items():
                grouped[group]["parts"].setdefault(index, []).append(value)
        op = "ALIGN_MAX" if reducer == "REDUCE_MAX" else "ALIGN_SUM"
        aligned = [
            {**g, "points": {i: _merge(v, value_type, op) for i, v in g.pop("parts").items()}}
            for g in grouped.values()
        ]
    rendered = []
    for series in aligned:
        rendered_points = []
        for index in sorted(series["points"], reverse=True):  # newest first, like the API
            p_start = start + dt.timedelta(seconds=index * period)
            p_end = min(p_start + dt.timedelta(seconds=period), end)
            rendered_points.append(
                {
                    "interval": {"startTime": rfc3339(p_start), "endTime": rfc3339(p_end)},
                    "value": _value(value_type, series["points"][index]),
                }
            )
        if rendered_points:
            rendered.append(
                {
                    "metric": series["metric"],
                    "resource": series["resource"],
                    "metricKind": kind,
                    "valueType": value_type,
                    "points": rendered_points,
                }
            )
    # pageSize: "A positive number that is the maximum number of results to return. If
    # page_size is empty or more than 100,000 results, the effective page_size is 100,000";
    # negative → INVALID_ARGUMENT (AIP-158). pageToken: "must contain the nextPageToken value
    # returned by a previous call", bound here to the request's other arguments.
    scope = paging.scope_digest(
        project, where, rfc3339(start), rfc3339(end), period, aligner, reducer, groups
    )
    page, token = paging.paginate(
        rendered, size=size, token=flat.get("pageToken") or None, scope=scope
    )
    reply = {**paging.listing("timeSeries", page, token), "unit": ""}
    if where["metric.type"] == REQUEST_LATENCIES:
        reply["unit"] = "ms"
    return reply


def route(
    home: Path,
    method: str,
    path: str,
    query: Mapping[str, list[str]],
    hooks: WorldHooks = NO_FAULTS,
) -> dict[str, Any]:
    """The HTTP route: ``GET /v3/projects/{p}/timeSeries``.

    Raises:
        StandInApiError: 404 for another path, 405 for another method, 400 for bad input.
    """
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[:2] != ["v3", "projects"] or parts[3] != "timeSeries":
        raise not_found(f"no such endpoint: {method} {path}")
    if method != "GET":
        raise StandInApiError(405, "UNIMPLEMENTED", "timeSeries.list is GET")
    return list_time_series(home, parts[2], query, hooks)
