"""The Cloud Monitoring adapter's conversions: bucket layouts, value kinds, the filter."""

from __future__ import annotations

import datetime as dt

import pytest
from google.cloud import monitoring_v3

from nbaops.adapters.monitoring import Distribution, _point, build_filter

END = dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC)


def point(value: dict[str, object]) -> monitoring_v3.Point:
    return monitoring_v3.Point(interval={"end_time": END}, value=value)


def test_filter_selects_one_revision_with_quoted_values() -> None:
    text = build_filter('run.googleapis.com/x"y', service="svc", revision="svc-1")
    assert text == (
        'metric.type = "run.googleapis.com/x\\"y" AND resource.type = "cloud_run_revision" '
        'AND resource.labels.service_name = "svc" AND resource.labels.revision_name = "svc-1"'
    )


@pytest.mark.parametrize(
    ("options", "bounds"),
    [
        (
            {"exponential_buckets": {"num_finite_buckets": 2, "growth_factor": 2, "scale": 1}},
            (1, 2, 4),
        ),
        ({"linear_buckets": {"num_finite_buckets": 2, "width": 10, "offset": 5}}, (5, 15, 25)),
        ({"explicit_buckets": {"bounds": [1.5, 3.0]}}, (1.5, 3.0)),
    ],
)
def test_distribution_bucket_layouts(options: dict[str, object], bounds: tuple[float, ...]) -> None:
    counts = [1, 2, 3, 4][: len(bounds) + 1]
    p = _point(
        point(
            {
                "distribution_value": {
                    "count": sum(counts),
                    "mean": 9.0,
                    "bucket_options": options,
                    "bucket_counts": counts,
                }
            }
        )
    )
    assert p.end == END and p.value is None
    assert p.distribution is not None and p.distribution.bounds == pytest.approx(bounds)
    weighted = p.distribution.weighted()
    assert weighted[0] == (bounds[0], 1.0)  # underflow sits at the first bound
    assert weighted[1] == ((bounds[0] + bounds[1]) / 2, 2.0)  # a finite bucket at its midpoint
    assert weighted[-1][0] == bounds[-1]  # overflow at the last bound


def test_empty_buckets_are_skipped_and_no_layout_uses_the_mean() -> None:
    dist = Distribution(count=3, mean=42.0, bounds=(), bucket_counts=(3,))
    assert dist.weighted() == [(42.0, 3.0)]
    dist = Distribution(count=2, mean=1.0, bounds=(1.0, 2.0), bucket_counts=(0, 2, 0))
    assert dist.weighted() == [(1.5, 2.0)]


def test_scalar_values() -> None:
    assert _point(point({"int64_value": 7})).value == 7.0
    assert _point(point({"double_value": 0.25})).value == 0.25
    assert _point(point({"bool_value": True})).value is None
