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
split (the stand-in keeps no traffic history), deterministically from the world's seed and
the revision's number, so the same minute always answers the same numbers. Like Cloud
Monitoring, a minute has a point only once it can have one: it starts at or after the
revision's ``createTime`` (a revision has no points before it exists) and it ended at least
``WorldHooks.metrics_delay_s`` before the stand-in's now (nbaops' clock, ``NBAOPS_NOW``):
Cloud Run's request metrics are "Sampled every 60 seconds. After sampling, data is not
visible for up to 180 seconds" (cloud.google.com/monitoring/api/metrics_gcp, gcp-run).
A read holds the points whose minute ends in ``(startTime, endTime]`` (TimeInterval, reads:
"A half-open time interval. It includes the end time but excludes the start time";
googleapis google/monitoring/v3/common.proto).

- ``run.googleapis.com/request_count`` (DELTA INT64) by ``response_code_class``
  (2xx, 4xx, 5xx), ~``RATE_PER_MINUTE`` requests split by the percentages;
- ``run.googleapis.com/request_latencies`` (DELTA DISTRIBUTION, ms, exponential
  buckets), log-normal;
- ``run.googleapis.com/container/instance_count`` (GAUGE INT64, ``state=active``).

The aggregation is checked against the metric's kind and value type the way the API
does (:func:`check_aggregation`): an aligner or reducer the enum descriptions do not allow
for it is 400 INVALID_ARGUMENT with Google's message; a valid one the stand-in does not
simulate is 501 UNIMPLEMENTED, never a silent sum.

The world's canary effects (``WorldHooks.canary_effects``, :mod:`nbaops.local.world`; the
sandbox's faults ``canary-5xx``, ``canary-latency``, ``canary-low-traffic``) change only
revisions created at or after their injection.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nbaops import clock
from nbaops.clock import as_utc, rfc3339
from nbaops.local import cloudrun_state, paging
from nbaops.local.cloudrun_state import (
    StandInApiError,
    invalid_argument,
    not_found,
    revision_index,
    short,
)
from nbaops.local.world import NO_FAULTS, WorldHooks
from nbaops.run_metrics import INSTANCE_COUNT, REQUEST_COUNT, REQUEST_LATENCIES

METRIC_KINDS = {
    REQUEST_COUNT: ("DELTA", "INT64"),
    REQUEST_LATENCIES: ("DELTA", "DISTRIBUTION"),
    INSTANCE_COUNT: ("GAUGE", "INT64"),
}
# The metric label each metric's series are split by (latencies: one series a revision).
SERIES_LABEL = {REQUEST_COUNT: "response_code_class", INSTANCE_COUNT: "state"}
MAX_PAGE_SIZE = 100_000  # monitoring.v3 pageSize: the default and the maximum
MAX_WINDOW = dt.timedelta(days=1)  # the stand-in refuses to simulate more per call
MINUTE = dt.timedelta(minutes=1)  # a simulated point: one minute, ending with it
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


def _alignment_period(raw: str | None, aligner: str) -> int | None:
    """The alignment period in seconds; None with ``ALIGN_NONE``, which aligns nothing.

    Aggregation.alignment_period (monitoring.v3 timeSeries.list): "The value must be at
    least 60 seconds. If a per-series aligner other than ALIGN_NONE is specified, this
    field is required or an error is returned. If no per-series aligner is specified, or
    the aligner ALIGN_NONE is specified, then this field is ignored." Nothing asks for a
    multiple of 60 (whole seconds here: the simulation is per second, and nbaops sends
    whole seconds).
    """
    if not raw:
        if aligner == "ALIGN_NONE":
            return None
        raise invalid_argument(
            f"aggregation.alignmentPeriod is required with the per-series aligner {aligner}"
        )
    match = re.fullmatch(r"(\d+)(?:\.0+)?s", raw)
    if not match or int(match.group(1)) < 60:
        raise invalid_argument(
            f"aggregation.alignmentPeriod {raw!r}: must be whole seconds, at least 60s"
        )
    return None if aligner == "ALIGN_NONE" else int(match.group(1))


def _window(
    minute: dt.datetime, start: dt.datetime, end: dt.datetime, period: int | None
) -> tuple[dt.datetime, dt.datetime]:
    """The interval of the point a simulated minute goes into: the minute itself when
    nothing aligns (``period`` None), else alignment window k, ``(start + k*period, start +
    (k+1)*period]`` (the read's own half-open shape: a point belongs where its end time
    falls), cut at the read's end."""
    if period is None:
        return minute, minute + MINUTE
    k = math.ceil((minute + MINUTE - start).total_seconds() / period) - 1
    begins = start + dt.timedelta(seconds=k * period)
    return begins, min(begins + dt.timedelta(seconds=period), end)


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
    """One revision's traffic in one minute: counts by class, latency histogram, instances.

    The draw is keyed by the revision's number, not its generated name: a new revision's
    three letters come from the time of the update that made it, so keyed by name the
    same world answered different numbers on every run (a healthy canary's latency test, at
    alpha 0.05, then failed some runs of the same test and passed others)."""
    key = revision_index(revision) or revision  # a name the deploy chose: that name
    rng = random.Random(f"{seed}:{service}:{key}:{minute.isoformat()}")
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
    # a minute's point is visible once the minute ended metrics_delay_s ago (module doc)
    visible_until = clock.now() - dt.timedelta(seconds=60 + hooks.metrics_delay_s)
    out: list[dict[str, Any]] = []
    for full, svc in sorted(state["services"].items()):
        if not full.startswith(f"projects/{project}/"):
            continue
        service = short(full)
        if where.get("resource.labels.service_name", service) != service:
            continue
        region = full.split("/")[3]
        for revision, percent in sorted(cloudrun_state.traffic_shares(state, svc).items()):
            if where.get("resource.labels.revision_name", revision) != revision:
                continue
            share = percent / 100.0
            record = state["revisions"].get(f"{full}/revisions/{revision}") or {}
            created_text = str(record.get("createTime") or "1970-01-01T00:00:00Z")
            created = as_utc(created_text)
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
            # a read holds the points that end in (start, end] (TimeInterval, reads: "It
            # includes the end time but excludes the start time"); a minute's ends with it
            minute = start.replace(second=0, microsecond=0)
            per_label: dict[str, list[tuple[dt.datetime, Any]]] = {}
            while minute + MINUTE <= end and minute <= visible_until:
                if minute >= created:  # no points before the revision exists
                    sim = _minute(seed, service, revision, minute, share, effects)
                    if metric_type == REQUEST_COUNT:
                        for cls, count in sim["classes"].items():
                            per_label.setdefault(cls, []).append((minute, count))
                    elif metric_type == REQUEST_LATENCIES and sim["count"]:
                        per_label.setdefault("", []).append((minute, sim))
                    elif metric_type == INSTANCE_COUNT:
                        per_label.setdefault("active", []).append((minute, sim["instances"]))
                minute += MINUTE
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


NUMERIC = ("INT64", "DOUBLE")
ANY_TYPE = ("BOOL", "INT64", "DOUBLE", "STRING", "DISTRIBUTION")
ANY_KIND = ("GAUGE", "DELTA", "CUMULATIVE")
# What each aligner and reducer is valid for, from their enum descriptions
# (monitoring.v3 discovery document, Aggregation.perSeriesAligner / crossSeriesReducer;
# google/monitoring/v3/common.proto): (metric kinds, value types, output kind, output
# value type), None for "the same as the input". E.g. ALIGN_DELTA "is valid for
# CUMULATIVE and DELTA metrics"; ALIGN_MEAN "for GAUGE and DELTA metrics with numeric
# values. The value_type of the aligned result is DOUBLE"; ALIGN_PERCENTILE_99 "for GAUGE
# and DELTA metrics with distribution values. The output is a GAUGE metric with value_type
# DOUBLE"; REDUCE_MAX "for DELTA and GAUGE metrics with numeric values".
_Rule = tuple[tuple[str, ...], tuple[str, ...], str | None, str | None]
_GD = ("GAUGE", "DELTA")
_PERCENTILE: _Rule = (_GD, ("DISTRIBUTION",), "GAUGE", "DOUBLE")
ALIGNER_RULES: dict[str, _Rule] = {
    "ALIGN_NONE": (ANY_KIND, ANY_TYPE, None, None),
    "ALIGN_DELTA": (("CUMULATIVE", "DELTA"), ANY_TYPE, "DELTA", None),
    "ALIGN_RATE": (("CUMULATIVE", "DELTA"), NUMERIC, "GAUGE", "DOUBLE"),
    "ALIGN_INTERPOLATE": (("GAUGE",), NUMERIC, None, None),
    "ALIGN_NEXT_OLDER": (("GAUGE",), ANY_TYPE, None, None),
    "ALIGN_MIN": (_GD, NUMERIC, None, None),
    "ALIGN_MAX": (_GD, NUMERIC, None, None),
    "ALIGN_MEAN": (_GD, NUMERIC, None, "DOUBLE"),
    "ALIGN_COUNT": (_GD, (*NUMERIC, "BOOL"), None, "INT64"),
    "ALIGN_SUM": (_GD, (*NUMERIC, "DISTRIBUTION"), None, None),
    "ALIGN_STDDEV": (_GD, NUMERIC, None, "DOUBLE"),
    "ALIGN_COUNT_TRUE": (("GAUGE",), ("BOOL",), None, "INT64"),
    "ALIGN_COUNT_FALSE": (("GAUGE",), ("BOOL",), None, "INT64"),
    "ALIGN_FRACTION_TRUE": (("GAUGE",), ("BOOL",), None, "DOUBLE"),
    "ALIGN_PERCENTILE_99": _PERCENTILE,
    "ALIGN_PERCENTILE_95": _PERCENTILE,
    "ALIGN_PERCENTILE_50": _PERCENTILE,
    "ALIGN_PERCENTILE_05": _PERCENTILE,
    "ALIGN_PERCENT_CHANGE": (_GD, NUMERIC, "GAUGE", "DOUBLE"),
}
_REDUCE_PERCENTILE: _Rule = (_GD, (*NUMERIC, "DISTRIBUTION"), None, "DOUBLE")
REDUCER_RULES: dict[str, _Rule] = {
    "REDUCE_NONE": (ANY_KIND, ANY_TYPE, None, None),
    "REDUCE_MEAN": (_GD, (*NUMERIC, "DISTRIBUTION"), None, "DOUBLE"),
    "REDUCE_MIN": (_GD, NUMERIC, None, None),
    "REDUCE_MAX": (_GD, NUMERIC, None, None),
    "REDUCE_SUM": (_GD, (*NUMERIC, "DISTRIBUTION"), None, None),
    "REDUCE_STDDEV": (_GD, (*NUMERIC, "DISTRIBUTION"), None, "DOUBLE"),
    "REDUCE_COUNT": (_GD, ANY_TYPE, None, "INT64"),
    "REDUCE_COUNT_TRUE": (_GD, ("BOOL",), None, "INT64"),
    "REDUCE_COUNT_FALSE": (_GD, ("BOOL",), None, "INT64"),
    "REDUCE_FRACTION_TRUE": (_GD, ("BOOL",), None, "DOUBLE"),
    "REDUCE_PERCENTILE_99": _REDUCE_PERCENTILE,
    "REDUCE_PERCENTILE_95": _REDUCE_PERCENTILE,
    "REDUCE_PERCENTILE_50": _REDUCE_PERCENTILE,
    "REDUCE_PERCENTILE_05": _REDUCE_PERCENTILE,
}
# The ones the stand-in computes; another valid one is 501 UNIMPLEMENTED, not a guess.
SIMULATED_ALIGNERS = ("ALIGN_NONE", "ALIGN_DELTA", "ALIGN_RATE", "ALIGN_MIN", "ALIGN_MAX",
                      "ALIGN_MEAN", "ALIGN_COUNT", "ALIGN_SUM")  # fmt: skip
SIMULATED_REDUCERS = ("REDUCE_NONE", "REDUCE_SUM", "REDUCE_MIN", "REDUCE_MAX", "REDUCE_MEAN",
                      "REDUCE_COUNT")  # fmt: skip


def _applies(field: str, what: str, name: str, rules: Mapping[str, _Rule],
             kind: str, value_type: str) -> tuple[str, str]:  # fmt: skip
    """(kind, value type) after ``name``, or Google's 400 when it does not apply."""
    rule = rules.get(name)
    if rule is None:
        raise invalid_argument(f'Field {field} had an invalid value of "{name}"')
    kinds, types, out_kind, out_type = rule
    if kind not in kinds or value_type not in types:
        # Google's wording (e.g. google/slo-generator#231, grafana/grafana#22634):
        # Field aggregation.perSeriesAligner had an invalid value of "ALIGN_SUM": The
        # aligner cannot be applied to metrics with kind CUMULATIVE and value type INT64.
        raise invalid_argument(
            f'Field {field} had an invalid value of "{name}": The {what} cannot be applied '
            f"to metrics with kind {kind} and value type {value_type}."
        )
    return out_kind or kind, out_type or value_type


def check_aggregation(kind: str, value_type: str, aligner: str, reducer: str) -> tuple[str, str]:
    """The (kind, value type) of the answer's series, after the aligner and the reducer.

    Raises:
        StandInApiError: 400 INVALID_ARGUMENT when the API refuses the combination (the
            enum descriptions above; a reducer also needs an aligner other than
            ALIGN_NONE: "If cross_series_reducer is specified, then per_series_aligner
            must be specified, and must not be ALIGN_NONE"); 501 UNIMPLEMENTED for a valid
            one the stand-in does not simulate.
    """
    field = "aggregation.perSeriesAligner"
    kind, value_type = _applies(field, "aligner", aligner, ALIGNER_RULES, kind, value_type)
    if reducer != "REDUCE_NONE" and aligner == "ALIGN_NONE":
        raise invalid_argument(
            f'Field aggregation.crossSeriesReducer had an invalid value of "{reducer}": '
            "a cross-series reducer needs a per-series aligner other than ALIGN_NONE."
        )
    field = "aggregation.crossSeriesReducer"
    kind, value_type = _applies(field, "reducer", reducer, REDUCER_RULES, kind, value_type)
    for name, simulated in ((aligner, SIMULATED_ALIGNERS), (reducer, SIMULATED_REDUCERS)):
        if name not in simulated:
            raise StandInApiError(501, "UNIMPLEMENTED", f"the stand-in does not simulate {name}")
    return kind, value_type


def _merge(values: Sequence[Any], value_type: str, op: str, period: int) -> Any:
    """One aligned (``ALIGN_*``) or reduced (``REDUCE_*``) value of ``values``."""
    if value_type == "DISTRIBUTION" and op not in ("ALIGN_COUNT", "REDUCE_COUNT"):
        count = sum(v["count"] for v in values)
        buckets = [sum(col) for col in zip(*(v["buckets"] for v in values), strict=True)]
        mean = sum(v["mean"] * v["count"] for v in values) / count if count else 0.0
        return {"count": count, "mean": mean, "buckets": buckets}
    how = op.split("_", 1)[1]
    if how in ("MAX", "MIN"):
        return max(values) if how == "MAX" else min(values)
    if how == "MEAN":
        return float(sum(values)) / len(values)
    if how == "COUNT":
        return len(values)
    if how == "RATE":  # "rate = (y1 - y0)/(t1 - t0)": a DELTA's sum over the period, per s
        return float(sum(values)) / period
    return sum(values)  # ALIGN_DELTA / ALIGN_SUM / ALIGN_NONE of a DELTA count, REDUCE_SUM


def _value(value_type: str, value: Any) -> dict[str, Any]:
    if value_type == "DISTRIBUTION":
        return {
            "distributionValue": {
                "count": str(value["count"]),
                "mean": value["mean"],
                "bucketOptions": {"exponentialBuckets": dict(BUCKETS)},
                "bucketCounts": [str(c) for c in value["buckets"]],
            }
        }
    if value_type == "DOUBLE":
        return {"doubleValue": float(value)}
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
            ``pageSize`` or a ``pageToken`` not issued for these arguments; 501 for an
            interval over :data:`MAX_WINDOW` (valid, but not simulated).
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
    if start > end:  # TimeInterval: "The start time must not be later than the end time"
        raise invalid_argument("interval: the start time must not be later than the end time")
    if end - start > MAX_WINDOW:  # valid for Google: a limit of the simulation, not a 400
        raise StandInApiError(
            501, "UNIMPLEMENTED", "the stand-in does not simulate an interval over 1 day"
        )
    aligner = flat.get("aggregation.perSeriesAligner", "ALIGN_NONE")
    reducer = flat.get("aggregation.crossSeriesReducer", "REDUCE_NONE")
    kind, value_type = METRIC_KINDS.get(where["metric.type"], ("GAUGE", "INT64"))
    kind_out, type_out = kind, value_type
    if where["metric.type"] in METRIC_KINDS:  # an unknown metric has no series to refuse
        kind_out, type_out = check_aggregation(kind, value_type, aligner, reducer)
    period = _alignment_period(flat.get("aggregation.alignmentPeriod"), aligner)
    aligned_type = ALIGNER_RULES.get(aligner, ((), (), None, None))[3] or value_type
    raw = _raw_series(home, project, where, start, end, hooks)
    aligned: list[dict[str, Any]] = []
    for series in raw:
        windows: dict[tuple[dt.datetime, dt.datetime], list[Any]] = {}
        for minute, value in series["points"]:
            windows.setdefault(_window(minute, start, end, period), []).append(value)
        # ALIGN_NONE: one value a minute, kept as it is (the period only feeds ALIGN_RATE)
        points = {w: _merge(v, value_type, aligner, period or 60) for w, v in windows.items()}
        aligned.append({**series, "points": points})
    if reducer != "REDUCE_NONE":
        grouped: dict[tuple[str, ...], dict[str, Any]] = {}
        for series in aligned:
            group = tuple(_label(series, f) for f in groups)
            if group not in grouped:  # its series carries only the grouped-by labels
                by_field = list(zip(groups, group, strict=True))
                grouped[group] = {"points": {}}
                for side in ("metric", "resource"):
                    labels = {f.rsplit(".", 1)[-1]: v for f, v in by_field if f.startswith(side)}
                    grouped[group][side] = {"type": series[side]["type"], "labels": labels}
            for window, value in series["points"].items():
                grouped[group]["points"].setdefault(window, []).append(value)
        for reduced in grouped.values():  # each window's values of the group, reduced
            parts = reduced["points"].items()
            reduced["points"] = {
                w: _merge(v, aligned_type, reducer, period or 60) for w, v in parts
            }
        aligned = list(grouped.values())
    rendered = []
    for series in aligned:
        rendered_points = []
        for window in sorted(series["points"], reverse=True):  # newest first, like the API
            p_start, p_end = window
            if kind_out == "GAUGE":  # a point in time: "the start time defaults to the value
                p_start = p_end  # of the end time" (monitoring.v3 TimeInterval, GAUGE)
            rendered_points.append(
                {
                    "interval": {"startTime": rfc3339(p_start), "endTime": rfc3339(p_end)},
                    "value": _value(type_out, series["points"][window]),
                }
            )
        if rendered_points:
            rendered.append(
                {
                    "metric": series["metric"],
                    "resource": series["resource"],
                    "metricKind": kind_out,
                    "valueType": type_out,
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
    unit = "ms" if where["metric.type"] == REQUEST_LATENCIES else ""
    return {**paging.listing("timeSeries", page, token), "unit": unit}


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
