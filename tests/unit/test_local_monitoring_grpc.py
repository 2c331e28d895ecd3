"""The gRPC MetricService's translation of a ListTimeSeriesRequest to the REST parameters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from google.cloud.monitoring_v3 import Aggregation, ListTimeSeriesRequest

from nbaops.local import monitoring_api
from nbaops.local.cloudrun_state import StandInApiError
from nbaops.local.monitoring_grpc import to_params


def _request(period: dt.timedelta) -> ListTimeSeriesRequest:
    return ListTimeSeriesRequest(
        name="projects/nbaops-local",
        filter='metric.type = "run.googleapis.com/request_count"',
        interval={
            "start_time": dt.datetime(2025, 1, 15, 16, 50, tzinfo=dt.UTC),
            "end_time": dt.datetime(2025, 1, 15, 17, 0, tzinfo=dt.UTC),
        },
        aggregation={
            "alignment_period": period,
            "per_series_aligner": Aggregation.Aligner.ALIGN_DELTA,
        },
    )


@pytest.mark.parametrize("period", [dt.timedelta(seconds=60.5), dt.timedelta(seconds=59.9)])
def test_a_fractional_alignment_period_is_refused_over_grpc_as_over_rest(
    tmp_path: Path, period: dt.timedelta
) -> None:
    """The Duration reaches the shared REST rule whole (JSON form "60.500s"): the gRPC route
    cut it to whole seconds, so 60.5 s was answered as 60 s where the HTTP route refuses
    "60.500s" with INVALID_ARGUMENT, and 59.9 s was refused as "59s", a value never sent."""
    project, params = to_params(_request(period))
    assert params["aggregation.alignmentPeriod"] == f"{period.total_seconds():.3f}s"
    with pytest.raises(StandInApiError) as refused:
        monitoring_api.list_time_series(tmp_path, project, params)
    assert refused.value.status == "INVALID_ARGUMENT"
    assert params["aggregation.alignmentPeriod"] in str(refused.value)


def test_a_whole_alignment_period_keeps_its_plain_form() -> None:
    _, params = to_params(_request(dt.timedelta(seconds=61)))
    assert params["aggregation.alignmentPeriod"] == "61s"
