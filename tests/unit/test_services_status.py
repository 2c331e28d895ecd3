"""services_status: how a health probe's latency is shown beside its WARN limit."""

from __future__ import annotations

import pytest

from nbaops.services_status import HEALTH_WARN_LATENCY_S, latency_text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.1234, "0.12s"),
        (2.5, "2.50s"),
        # past the 2 s limit (WARN): not shown as the limit itself
        (2.001, "2.001s"),
        (2.0004, "2.0004s"),
        # under it (PASS): not rounded up onto it
        (1.999, "1.999s"),
        (2.0, "2.00s"),
    ],
)
def test_a_latency_keeps_its_side_of_the_warn_limit(seconds: float, shown: str) -> None:
    """A 2.001 s answer WARNed as "HTTP 200 but slow (2.00s)" beside "WARN slower than 2s",
    and a 1.999 s one passed as "in 2.00s"."""
    assert HEALTH_WARN_LATENCY_S == 2.0
    assert latency_text(seconds) == shown
