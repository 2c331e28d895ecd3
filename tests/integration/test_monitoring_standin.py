"""Cloud Monitoring ``timeSeries.list``: the official client (gRPC) and the HTTP route of
the stand-in answer from one simulation, bounded and deterministic; canary faults make
only revisions created after them worse. Like the API, a revision has no points before it
exists nor for the last minutes (the ingestion delay), and an aligner or reducer the
metric's kind does not allow is INVALID_ARGUMENT."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from worlds.bounded import outcome_within

from nbaops.adapters.monitoring import Distribution, MetricsReader, build_filter
from nbaops.canary.run import analyse_canary
from nbaops.canary.settings import WHERE, CanarySettings
from nbaops.config import ProfileConfig
from nbaops.errors import MonitoringError
from nbaops.local.api_faults import set_api_fault
from nbaops.local.cloudrun_state import SeedRevision, SeedService, seed_services
from nbaops.local.monitoring_grpc import MonitoringServer
from nbaops.local.standin import StandIn
from nbaops.sandbox import faults
from nbaops.sandbox.world import HOOKS
from nbaops.settings import load_section
from nbaops.verdict import Verdict


def canary_settings(section: dict[str, Any]) -> CanarySettings:
    """``deploy.canary_analysis`` read the way DeploySettings reads it."""
    return load_section(section, CanarySettings, WHERE)


PROJECT, REGION, SERVICE = "nbaops-local", "us-west2", "prediction-worker"
NOW = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(minutes=10)
CREATED = NOW - dt.timedelta(minutes=15)  # NEW: serving for a while (its points exist)
OLD, NEW = "prediction-worker-00001-old", "prediction-worker-00002-new"
REQUEST_COUNT = "run.googleapis.com/request_count"
LATENCIES = "run.googleapis.com/request_latencies"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NBAOPS_NOW", NOW.isoformat())  # the stand-in's now
    _seed_new(tmp_path, CREATED)
    yield tmp_path
    server = MonitoringServer._instances.get(str(tmp_path.resolve()))
    if server is not None:
        server.stop()


def reader(home: Path, **kw: Any) -> MetricsReader:
    profile = ProfileConfig("local", "local", PROJECT, REGION)
    return MetricsReader(profile, endpoint=MonitoringServer.start(home, HOOKS).target, **kw)


def per_minute(
    home: Path, revision: str, start: dt.datetime = START, end: dt.datetime = NOW
) -> Any:
    """The one series of ``revision``'s requests summed per minute over (start, end]."""
    (series,) = reader(home).list_time_series(
        REQUEST_COUNT,
        service=SERVICE,
        revision=revision,
        start=start,
        end=end,
        alignment_s=60,
        aligner="ALIGN_DELTA",
        reducer="REDUCE_SUM",
    )
    return series


def counts(r: MetricsReader, revision: str) -> dict[str, float]:
    series = r.list_time_series(
        REQUEST_COUNT,
        service=SERVICE,
        revision=revision,
        start=START,
        end=NOW,
        alignment_s=60,
        aligner="ALIGN_DELTA",
        reducer="REDUCE_SUM",
        group_by=["metric.labels.response_code_class"],
    )
    return {
        s.metric_labels["response_code_class"]: sum(p.value or 0 for p in s.points) for s in series
    }


def test_request_counts_follow_the_traffic_split_deterministically(home: Path) -> None:
    r = reader(home)
    old, new = counts(r, OLD), counts(r, NEW)
    assert set(old) == {"2xx", "4xx", "5xx"}
    assert 3.0 < sum(old.values()) / sum(new.values()) < 5.0  # 80/20
    assert 0 < new["5xx"] / sum(new.values()) < 0.015
    assert counts(r, NEW) == new  # the same minute answers the same numbers
    grpc = [e for e in StandIn.requests(home) if e["method"] == "GRPC"]
    assert grpc and {e["contract"] for e in grpc} == {"ok"}  # monitoring.v3 discovery check
    assert {e["api_method"] for e in grpc} == {"monitoring.projects.timeSeries.list"}


def test_a_revisions_traffic_follows_its_number_not_its_generated_letters(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A new revision's letters come from the time of the deploy: keyed by them, the same
    test world answered different numbers on each run, and a healthy canary's latency
    test (alpha 0.05) failed one run in ten of the same test."""
    first = counts(reader(home), NEW)
    other = tmp_path_factory.mktemp("same-world")
    renamed = "prediction-worker-00002-xyz"
    _seed_new(other, CREATED, name=renamed)
    try:
        assert counts(reader(other), renamed) == first
    finally:
        MonitoringServer._instances[str(other.resolve())].stop()


def test_latency_distribution_and_instances(home: Path) -> None:
    r = reader(home)
    (series,) = r.list_time_series(
        LATENCIES,
        service=SERVICE,
        revision=NEW,
        start=START,
        end=NOW,
        alignment_s=300,
        aligner="ALIGN_DELTA",
        reducer="REDUCE_SUM",
    )
    assert len(series.points) == 2 and series.points[0].end > series.points[1].end
    dist = series.points[0].distribution
    assert isinstance(dist, Distribution) and dist.count == sum(dist.bucket_counts) > 1000
    assert 60 < dist.mean < 120 and dist.bounds[0] == 1.0
    (inst,) = r.list_time_series(
        "run.googleapis.com/container/instance_count",
        service=SERVICE,
        revision=NEW,
        start=START,
        end=NOW,
        alignment_s=60,
        aligner="ALIGN_MAX",
        reducer="REDUCE_SUM",
    )
    assert inst.metric_labels == {} and max(p.value or 0 for p in inst.points) >= 1


def test_canary_faults_touch_only_revisions_created_after_them(home: Path) -> None:
    faults.write_records(
        home, [{"name": "canary-5xx", "service": SERVICE, "injected_at": CREATED.isoformat()}]
    )
    r = reader(home)
    old, new = counts(r, OLD), counts(r, NEW)
    assert new["5xx"] / sum(new.values()) > 0.03
    assert old["5xx"] / sum(old.values()) < 0.01


def test_pages_and_interval_are_bounded(home: Path) -> None:
    r = reader(home, page_size=1, max_pages=2)
    with pytest.raises(MonitoringError, match="more than 2 pages"):
        counts(r, NEW)  # three series (2xx, 4xx, 5xx) on pages of one
    with pytest.raises(MonitoringError, match="interval"):
        reader(home).list_time_series(
            REQUEST_COUNT,
            service=SERVICE,
            revision=NEW,
            start=NOW - dt.timedelta(days=2),
            end=NOW,
            alignment_s=60,
            aligner="ALIGN_DELTA",
        )


def test_api_error_is_a_monitoring_error(home: Path) -> None:
    set_api_fault(home, "monitoring-error", count=1)
    with pytest.raises(MonitoringError, match="INTERNAL|500"):
        counts(reader(home), NEW)


def test_a_read_through_an_outage_ends_within_its_timeout(home: Path) -> None:
    """ListTimeSeries' default retry re-sends an UNAVAILABLE for up to 90 s whatever the
    call's ``timeout_s`` ("every call has timeout_s"): a canary round waited three times
    its bound through a Cloud Monitoring outage."""
    set_api_fault(home, "monitoring-error", status=503)
    error = outcome_within(lambda: counts(reader(home, timeout_s=1.0), NEW), 15, "the read")
    assert isinstance(error, MonitoringError) and "gave up retrying" in str(error), error


def _rest_request(home: Path) -> tuple[str, dict[str, str]]:
    """The stand-in's REST ``timeSeries.list`` URL and a request for NEW's request counts."""
    url = StandIn.start(home, HOOKS).url + f"/v3/projects/{PROJECT}/timeSeries"
    return url, {
        "filter": build_filter(REQUEST_COUNT, service=SERVICE, revision=NEW),
        "interval.startTime": "2025-01-15T16:50:00Z",
        "interval.endTime": "2025-01-15T17:00:00Z",
    }


def test_rest_route_speaks_the_discovery_shape(home: Path) -> None:
    url, request = _rest_request(home)
    params = {
        **request,
        "aggregation.alignmentPeriod": "600s",
        "aggregation.perSeriesAligner": "ALIGN_DELTA",
        "aggregation.crossSeriesReducer": "REDUCE_SUM",
        "aggregation.groupByFields": "metric.labels.response_code_class",
        "pageSize": "2",
    }
    first = requests.get(url, params=params, timeout=10).json()
    assert len(first["timeSeries"]) == 2 and first["nextPageToken"]  # an opaque token
    ts = first["timeSeries"][0]
    assert ts["metricKind"] == "DELTA" and ts["valueType"] == "INT64"
    assert isinstance(ts["points"][0]["value"]["int64Value"], str)  # int64 travels as a string
    token = first["nextPageToken"]
    second = requests.get(url, params={**params, "pageToken": token}, timeout=10).json()
    assert len(second["timeSeries"]) == 1 and "nextPageToken" not in second
    bad = requests.get(url, params={**params, "colour": "red"}, timeout=10)
    assert bad.status_code == 400 and "colour" in bad.json()["error"]["message"]
    for broken in (
        {"filter": "metric.type ~ x"},
        {"interval.endTime": "yesterday"},
        {"aggregation.alignmentPeriod": "59s"},  # "must be at least 60 seconds"
        {"aggregation.groupByFields": "x.y"},
    ):
        reply = requests.get(url, params={**params, **broken}, timeout=10)
        assert reply.status_code == 400, broken
    # at least 60 s, not a multiple of it: 61 s was refused and every canary rolled back
    odd = requests.get(url, params={**params, "aggregation.alignmentPeriod": "61s"}, timeout=10)
    assert odd.status_code == 200, odd.text
    assert requests.post(url, timeout=10).status_code == 405
    assert requests.get(url.replace("timeSeries", "other"), timeout=10).status_code == 404


def test_bad_paging_is_invalid_argument_over_http_and_grpc(home: Path) -> None:
    """A negative pageSize or a token the server did not issue for these arguments is
    INVALID_ARGUMENT (AIP-158), not a 500 / UNKNOWN; a negative size never loops."""
    from google.api_core import exceptions

    url, request = _rest_request(home)
    params = {**request, "pageSize": "1"}
    token = requests.get(url, params=params, timeout=10).json()["nextPageToken"]
    for bad in (
        {"pageSize": "-1"},
        {"pageToken": "2"},
        {"pageToken": "garbage"},
        {"pageToken": token, "filter": build_filter(REQUEST_COUNT, service=SERVICE, revision=OLD)},
        {"pageToken": token, "interval.startTime": "2025-01-15T16:51:00Z"},
    ):
        reply = requests.get(url, params={**params, **bad}, timeout=10)
        assert reply.status_code == 400, bad
        assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"
    client = reader(home).client
    request = {
        "name": f"projects/{PROJECT}",
        "filter": params["filter"],
        "interval": {"start_time": START, "end_time": NOW},
    }
    # the HTTP token is good for the same arguments over gRPC, not for another filter
    assert list(client.list_time_series(request={**request, "page_token": token}, timeout=10))
    other = build_filter(REQUEST_COUNT, service=SERVICE, revision=OLD)
    for bad_grpc in (
        {"page_size": -1},
        {"page_token": "garbage"},
        {"page_token": token, "filter": other},
    ):
        with pytest.raises(exceptions.InvalidArgument):
            list(client.list_time_series(request={**request, **bad_grpc}, timeout=10))


def test_analysis_of_a_custom_gauge_without_data_is_inconclusive(home: Path) -> None:
    class Ctx:
        monitoring = reader(home)

    settings = canary_settings(
        {
            "services": {
                SERVICE: {
                    "custom": [
                        {
                            "name": "preds",
                            "kind": "gauge",
                            "metric_type": "custom.googleapis.com/preds",
                        }
                    ]
                }
            }
        }
    )
    out = analyse_canary(Ctx(), SERVICE, baseline=OLD, canary=NEW, settings=settings, now=NOW)  # type: ignore[arg-type]
    by_name = {m.name: m for m in out.metrics}
    assert by_name["preds"].verdict is Verdict.INCONCLUSIVE
    assert (
        by_name["error_rate"].verdict is Verdict.PASS and by_name["latency"].verdict is Verdict.PASS
    )
    assert by_name["instance_count"].verdict is Verdict.PASS


def test_no_client_makes_every_metric_error() -> None:
    class Ctx:
        @property
        def monitoring(self) -> MetricsReader:
            raise RuntimeError("no credentials")

    out = analyse_canary(
        Ctx(), SERVICE, baseline=OLD, canary=NEW, settings=CanarySettings(), now=NOW
    )  # type: ignore[arg-type]
    assert out.verdict is Verdict.ERROR and all("no credentials" in m.message for m in out.metrics)


def _seed_new(home: Path, created: dt.datetime, name: str = NEW) -> None:
    """OLD serving 80% since a day, NEW (or ``name``; created at ``created``) 20% as the
    candidate."""
    seed_services(
        home,
        PROJECT,
        REGION,
        [
            SeedService(
                SERVICE,
                [
                    SeedRevision("img:old", name=OLD, create_time=NOW - dt.timedelta(days=1)),
                    SeedRevision("img:new", name=name, create_time=created),
                ],
                traffic=[(OLD, 80, ""), (name, 20, "candidate")],
            )
        ],
    )


def test_a_canary_created_30s_ago_has_no_requests_yet(home: Path) -> None:
    """No points before the revision exists, none younger than the ingestion delay: the
    stand-in once showed ~6,500 requests for a 30-second-old canary."""
    _seed_new(home, NOW - dt.timedelta(seconds=30))
    r = reader(home)
    assert counts(r, NEW) == {}
    assert sum(counts(r, OLD).values()) > 10_000  # the baseline served all along


def test_points_start_at_creation_and_stop_at_the_ingestion_delay(home: Path) -> None:
    created = NOW - dt.timedelta(minutes=6, seconds=30)
    _seed_new(home, created)
    series = per_minute(home, NEW)
    starts = sorted(p.end - dt.timedelta(seconds=60) for p in series.points)
    assert starts[0] >= created  # the first whole minute after createTime
    # a minute is visible metrics_delay_s (150 s) after it ended: none after 16:56:30
    assert starts[-1] + dt.timedelta(seconds=60 + HOOKS.metrics_delay_s) <= NOW
    assert [s.minute for s in starts] == [54, 55, 56]


def test_instance_count_with_align_delta_is_invalid_argument(home: Path) -> None:
    """ALIGN_DELTA "is valid for CUMULATIVE and DELTA metrics"; instance_count is a GAUGE.
    The stand-in once summed whatever it was asked."""
    with pytest.raises(MonitoringError, match="INVALID_ARGUMENT|InvalidArgument|400") as err:
        reader(home).list_time_series(
            "run.googleapis.com/container/instance_count",
            service=SERVICE,
            revision=NEW,
            start=START,
            end=NOW,
            alignment_s=60,
            aligner="ALIGN_DELTA",
        )
    assert "cannot be applied to metrics with kind GAUGE and value type INT64" in str(err.value)


def test_aggregation_is_checked_against_the_metric_kind_over_http(home: Path) -> None:
    url, request = _rest_request(home)
    latencies = build_filter(LATENCIES, service=SERVICE, revision=NEW)
    instances = build_filter(
        "run.googleapis.com/container/instance_count", service=SERVICE, revision=NEW
    )
    refused = [
        ({"aggregation.perSeriesAligner": "ALIGN_PERCENTILE_99"}, "ALIGN_PERCENTILE_99"),
        ({"filter": latencies, "aggregation.perSeriesAligner": "ALIGN_MEAN"}, "ALIGN_MEAN"),
        (
            {"filter": latencies, "aggregation.perSeriesAligner": "ALIGN_DELTA",
             "aggregation.crossSeriesReducer": "REDUCE_MAX"},
            "REDUCE_MAX",
        ),
        ({"filter": instances, "aggregation.perSeriesAligner": "ALIGN_RATE"}, "ALIGN_RATE"),
        ({"aggregation.crossSeriesReducer": "REDUCE_SUM"}, "REDUCE_SUM"),  # with ALIGN_NONE
    ]  # fmt: skip
    for extra, name in refused:
        reply = requests.get(url, params={**request, **extra}, timeout=10)
        assert reply.status_code == 400, (extra, reply.text)
        error = reply.json()["error"]
        assert (
            error["status"] == "INVALID_ARGUMENT"
            and f'invalid value of "{name}"' in (error["message"])
        )
    stddev = {**request, "aggregation.perSeriesAligner": "ALIGN_STDDEV"}  # valid, not simulated
    assert requests.get(url, params=stddev, timeout=10).status_code == 501
    # ALIGN_RATE of a DELTA count: per second, a GAUGE of DOUBLE ("delta over time")
    rate = {**request, "aggregation.alignmentPeriod": "60s", "aggregation.perSeriesAligner":
            "ALIGN_RATE", "filter": f'{request["filter"]} AND metric.labels.response_code_class = "2xx"'}  # fmt: skip  # noqa: E501
    delta = {**rate, "aggregation.perSeriesAligner": "ALIGN_DELTA"}
    (by_rate,) = requests.get(url, params=rate, timeout=10).json()["timeSeries"]
    (by_delta,) = requests.get(url, params=delta, timeout=10).json()["timeSeries"]
    assert (by_rate["metricKind"], by_rate["valueType"]) == ("GAUGE", "DOUBLE")
    for r, d in zip(by_rate["points"], by_delta["points"], strict=True):
        assert r["value"]["doubleValue"] == pytest.approx(int(d["value"]["int64Value"]) / 60)


def test_instance_count_reads_only_active_instances(home: Path) -> None:
    def instances(state: str) -> list[Any]:
        return reader(home).list_time_series(
            "run.googleapis.com/container/instance_count",
            service=SERVICE,
            revision=NEW,
            start=START,
            end=NOW,
            alignment_s=60,
            aligner="ALIGN_MAX",
            reducer="REDUCE_SUM",
            metric_labels={"state": state},
        )

    assert instances("active") and instances("idle") == []
    assert 'metric.labels.state = "active"' in build_filter(
        "m", service=SERVICE, revision=NEW, metric_labels={"state": "active"}
    )


def test_a_gauge_point_is_a_point_in_time_and_a_delta_point_spans_its_period(home: Path) -> None:
    """Every point came back with a minute-long interval; a GAUGE is a point-in-time
    measurement ("the start time defaults to the value of the end time ... If both start
    and end times are specified, they must be identical", monitoring.v3 TimeInterval),
    as the GAUGE an aligner outputs (ALIGN_RATE: "The output is a GAUGE metric")."""
    url, request = _rest_request(home)
    instances = build_filter(
        "run.googleapis.com/container/instance_count", service=SERVICE, revision=NEW
    )
    rate = {"aggregation.alignmentPeriod": "60s", "aggregation.perSeriesAligner": "ALIGN_RATE"}
    for params in ({**request, "filter": instances}, {**request, **rate}):
        for series in requests.get(url, params=params, timeout=10).json()["timeSeries"]:
            assert series["metricKind"] == "GAUGE" and series["points"], params
            for point in series["points"]:
                assert point["interval"]["startTime"] == point["interval"]["endTime"], point
    counts = requests.get(url, params=request, timeout=10).json()["timeSeries"]
    for point in counts[0]["points"]:
        assert point["interval"]["startTime"] < point["interval"]["endTime"], point


def test_align_none_ignores_the_alignment_period_which_any_other_aligner_needs(
    home: Path,
) -> None:
    """Aggregation.alignment_period: "If a per-series aligner other than ALIGN_NONE is
    specified, this field is required or an error is returned. If no per-series aligner is
    specified, or the aligner ALIGN_NONE is specified, then this field is ignored"
    (monitoring.v3 timeSeries.list). Without an aligner the stand-in summed the minutes of
    each period (five instance counts added up into one point) and set the points on
    windows from the read's start, not on their own minutes; an aligner without a period
    was read as 60 s."""
    url, request = _rest_request(home)
    request = {**request, "interval.startTime": "2025-01-15T16:50:30Z"}
    instances = build_filter(
        "run.googleapis.com/container/instance_count", service=SERVICE, revision=NEW
    )
    for params in (request, {**request, "filter": instances}):
        plain = requests.get(url, params=params, timeout=10).json()["timeSeries"]
        period = {**params, "aggregation.alignmentPeriod": "300s"}
        assert requests.get(url, params=period, timeout=10).json()["timeSeries"] == plain
        for series in plain:
            ends = [dt.datetime.fromisoformat(p["interval"]["endTime"]) for p in series["points"]]
            assert len(ends) > 1 and all(e.second == 0 for e in ends), ends  # whole minutes
    by_minute = [int(p["value"]["int64Value"]) for p in plain[0]["points"]]
    aligned = {**request, "filter": instances, "aggregation.perSeriesAligner": "ALIGN_MAX"}
    missing = requests.get(url, params=aligned, timeout=10)
    assert missing.status_code == 400 and "alignmentPeriod" in missing.text
    aligned["aggregation.alignmentPeriod"] = "300s"
    (series,) = requests.get(url, params=aligned, timeout=10).json()["timeSeries"]
    assert int(series["points"][0]["value"]["int64Value"]) <= max(by_minute)


def test_an_interval_over_a_day_is_unimplemented_and_a_reversed_one_invalid(home: Path) -> None:
    """Both were 400 INVALID_ARGUMENT; Google serves intervals over a day (only one whose
    start is later than its end is invalid: monitoring.v3 TimeInterval), so the stand-in's
    own limit is 501 UNIMPLEMENTED, like every valid request it does not simulate."""
    url, request = _rest_request(home)
    long = requests.get(url, params={**request, "interval.startTime": "2025-01-13T17:00:00Z"},
                        timeout=10)  # fmt: skip
    assert long.status_code == 501 and long.json()["error"]["status"] == "UNIMPLEMENTED"
    reversed_ = requests.get(
        url, params={**request, "interval.startTime": "2025-01-15T17:01:00Z"}, timeout=10
    )
    assert reversed_.status_code == 400, reversed_.text
    assert "must not be later than the end time" in reversed_.json()["error"]["message"]


def test_a_read_holds_the_points_that_end_in_start_exclusive_to_end_inclusive(
    home: Path,
) -> None:
    """monitoring.v3 TimeInterval, reads: "A half-open time interval. It includes the end
    time but excludes the start time: (startTime, endTime]". A minute's DELTA point ends at
    the end of its minute: (16:40:30, 16:45:30] holds the five minutes ending 16:41 ...
    16:45, the same as (16:40, 16:45]. The stand-in held the minutes overlapping [start,
    end): a sixth, ending 16:46 after the read's end, and an aligned point ending at the
    excluded start itself."""
    at = dt.datetime(2025, 1, 15, 16, 40, tzinfo=dt.UTC)
    half = dt.timedelta(seconds=30)

    def read(start: dt.datetime, end: dt.datetime) -> list[Any]:
        series = per_minute(home, OLD, start, end)
        assert all(start < p.end <= end for p in series.points), [p.end for p in series.points]
        return list(series.points)

    five = dt.timedelta(minutes=5)
    shifted, whole = read(at + half, at + five + half), read(at, at + five)
    assert len(shifted) == len(whole) == 5
    assert sum(p.value or 0 for p in shifted) == sum(p.value or 0 for p in whole)


def test_a_canary_round_reads_no_point_that_began_before_the_traffic_shift(home: Path) -> None:
    """A read (start, end] holds the points that end after start, and a Cloud Run point
    holds the 60 s before its end: a round starting at the shift (16:50:30) counted the
    minute 16:50-16:51, half of it from before the shift (the deploy's health probes, the
    revision's cold start, on the canary). The round starts one sampling period after the
    shift: it counts the minutes from 16:51 on, up to the ingestion delay (16:57)."""

    class Ctx:
        monitoring = reader(home)

    shift = dt.datetime(2025, 1, 15, 16, 50, 30, tzinfo=dt.UTC)
    settings = CanarySettings()
    out = analyse_canary(
        Ctx(), SERVICE, baseline=OLD, canary=NEW, settings=settings, now=NOW, since=shift
    )  # type: ignore[arg-type]
    first = dt.datetime(2025, 1, 15, 16, 51, tzinfo=dt.UTC)  # the first minute after it
    series = per_minute(home, NEW, first, NOW - dt.timedelta(seconds=settings.ingestion_delay_s))
    assert sorted(p.end.minute for p in series.points) == [52, 53, 54, 55, 56, 57]
    error_rate = next(m for m in out.metrics if m.name == "error_rate")
    assert error_rate.canary_sample == sum(p.value or 0 for p in series.points)
    assert out.window == "2025-01-15T16:51:30Z/2025-01-15T16:57:00Z"
