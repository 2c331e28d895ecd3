"""The Cloud Logging reader's bounds: request cap, time budget, the pause after an empty
page with a token, and the 429 retry; first on a fake reply sequence (the prod reader's
constants, on the one fake clock), then through the stand-in's ``logging-empty-pages`` and
``logging-error`` 429 faults with both transports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from worlds.fake_clock import FakeClock
from worlds.standin import STANDIN_NOW

from nbaops.adapters.logs import (
    EMPTY_PAGE_PAUSE_S,
    MAX_PAGES,
    QUOTA_BACKOFF_S,
    READ_QUOTA,
    TRANSIENT_BACKOFF_S,
    TRANSIENT_RETRIES,
    LogReader,
    build_filter,
)
from nbaops.config import ProfileConfig
from nbaops.errors import LoggingError
from nbaops.local.api_faults import set_api_fault
from nbaops.local.log_store import append_entries
from nbaops.local.standin import StandIn

PROD = ProfileConfig(name="prod", kind="prod", project="p", region="us-west2")
FILTER = build_filter(since=STANDIN_NOW - dt.timedelta(hours=1))
QUOTA_429 = {
    "error": {
        "code": 429,
        "status": "RESOURCE_EXHAUSTED",
        "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests "
        "per minute' of service 'logging.googleapis.com' for consumer 'project_number:1'.",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "metadata": {
                    "quota_limit": "ReadRequestsPerMinutePerProject",
                    "quota_limit_value": "60",
                },
            }
        ],
    }
}
Reply = tuple[int, dict[str, Any]] | Callable[[float], tuple[int, dict[str, Any]]]


def entry(text: str) -> dict[str, Any]:
    return {"timestamp": "2024-11-25T14:55:00Z", "severity": "ERROR", "textPayload": text}


def empty_page(n: int) -> tuple[int, dict[str, Any]]:
    return 200, {"nextPageToken": f"more-{n}"}


class Replies:
    """A transport answering a scripted sequence (the last reply repeats); records each
    request's body and timeout."""

    def __init__(self, clock: FakeClock, *replies: Reply) -> None:
        self.clock = clock
        self.replies = list(replies)
        self.sent: list[tuple[dict[str, Any], float]] = []

    def __call__(self, url: str, body: dict[str, Any], timeout_s: float) -> tuple[int, bytes]:
        assert url == "https://logging.googleapis.com/v2/entries:list"
        self.sent.append((dict(body), timeout_s))
        reply = self.replies[min(len(self.sent), len(self.replies)) - 1]
        status, payload = reply(timeout_s) if callable(reply) else reply
        return status, json.dumps(payload).encode()


def prod_reader(clock: FakeClock, transport: Replies, timeout_s: float = 30.0) -> LogReader:
    """The prod reader (no endpoint: Google's pause and backoff) on the fake clock."""
    return LogReader(
        PROD,
        timeout_s=timeout_s,
        transport=transport,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )


# ---------------------------------------------------------------- a fake reply sequence


def test_endless_empty_pages_stop_at_the_request_cap_with_a_pause_each() -> None:
    """The API's "no entries so far, here is a token" forever: the loop asked 200 times in
    3 ms; now MAX_PAGES requests, a pause before each re-ask, and a partial result."""
    clock = FakeClock()
    replies = Replies(clock, *(empty_page(n) for n in range(1000)))
    read = prod_reader(clock, replies).entries(FILTER)
    assert len(replies.sent) == MAX_PAGES
    assert clock.slept == [EMPTY_PAGE_PAUSE_S] * (MAX_PAGES - 1)
    assert [b.get("pageToken") for b, _t in replies.sent] == [None] + [
        f"more-{n}" for n in range(MAX_PAGES - 1)
    ]
    assert list(read) == []
    assert read.partial == (
        f"Cloud Logging had not searched every entry after {MAX_PAGES} entries:list requests, "
        f"{MAX_PAGES} of them answered no entries yet"
    )


def test_empty_pages_then_entries_read_everything_and_are_complete() -> None:
    clock = FakeClock()
    replies = Replies(
        clock,
        empty_page(0),
        (200, {"entries": [entry("a"), entry("b")], "nextPageToken": "next"}),
        empty_page(1),
        (200, {"entries": [entry("c")]}),
    )
    read = prod_reader(clock, replies).entries(FILTER)
    assert [r.message for r in read] == ["a", "b", "c"]
    assert read.partial is None
    assert clock.slept == [EMPTY_PAGE_PAUSE_S, EMPTY_PAGE_PAUSE_S]  # after the empty ones only
    assert [b["pageSize"] for b, _t in replies.sent] == [1000, 1000, 998, 998]


def test_the_time_budget_ends_the_read_and_bounds_each_request() -> None:
    """Each request takes 4 s of a 10 s budget: the third is given only what is left, and
    its timeout ends the read as partial (the runner's timeout no longer leaves it asking)."""
    clock = FakeClock()

    def slow(timeout_s: float) -> tuple[int, dict[str, Any]]:
        if timeout_s < 4:
            clock.sleep(timeout_s)
            raise TimeoutError("timed out")
        clock.sleep(4)
        return 200, {"entries": [entry("x")], "nextPageToken": "next"}

    replies = Replies(clock, slow)
    read = prod_reader(clock, replies).entries(FILTER, timeout_s=10)
    assert [t for _b, t in replies.sent] == [10, 6, 2]
    assert [r.message for r in read] == ["x", "x"]
    assert read.partial == (
        "Cloud Logging had not searched every entry within 10s (2 entries:list requests)"
    )
    assert clock.now - 1000.0 == 10


def test_the_first_request_timing_out_is_an_error_not_an_empty_read() -> None:
    clock = FakeClock()

    def silent(timeout_s: float) -> tuple[int, dict[str, Any]]:
        raise TimeoutError("timed out")

    with pytest.raises(LoggingError, match=r"entries:list timed out after 5s"):
        prod_reader(clock, Replies(clock, silent)).entries(FILTER, timeout_s=5)


def test_a_429_is_retried_once_after_the_backoff() -> None:
    clock = FakeClock()
    replies = Replies(clock, (429, QUOTA_429), (200, {"entries": [entry("a")]}))
    read = prod_reader(clock, replies, timeout_s=60).entries(FILTER)
    assert [r.message for r in read] == ["a"] and read.partial is None
    assert clock.slept == [QUOTA_BACKOFF_S]
    assert len(replies.sent) == 2


def test_a_second_429_is_one_line_naming_the_quota() -> None:
    clock = FakeClock()
    replies = Replies(clock, (429, QUOTA_429))
    with pytest.raises(LoggingError) as caught:
        prod_reader(clock, replies, timeout_s=60).entries(FILTER)
    assert str(caught.value) == (
        "Cloud Logging entries:list: HTTP 429 RESOURCE_EXHAUSTED, retried once after "
        f"{QUOTA_BACKOFF_S:g}s: the project's log read quota ReadRequestsPerMinutePerProject "
        "(60 a minute, shared by everything that reads this project's logs) is used up; wait "
        "a minute and run again"
    )
    assert len(replies.sent) == 2 and clock.slept == [QUOTA_BACKOFF_S]


def test_a_429_without_time_for_the_backoff_is_not_retried() -> None:
    """A bare 429 (no ErrorInfo) names the quota entries.list counts against."""
    clock = FakeClock()
    bare = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded"}}
    replies = Replies(clock, (429, bare))
    with pytest.raises(
        LoggingError,
        match=rf"no time left to retry: the project's log read quota {READ_QUOTA} \(shared",
    ):
        prod_reader(clock, replies).entries(FILTER, timeout_s=QUOTA_BACKOFF_S)
    assert len(replies.sent) == 1 and clock.slept == []


def google_error(status: int, reason: str) -> dict[str, Any]:
    return {"error": {"code": status, "status": reason, "message": "The service is unavailable."}}


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "INTERNAL"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED")],
)
def test_a_transient_5xx_is_asked_again_as_googles_client_does(status: int, reason: str) -> None:
    """google-cloud-logging's ListLogEntries retries DEADLINE_EXCEEDED, INTERNAL and
    UNAVAILABLE by default (logging_v2 ... transports/base.py); the reader that replaced it
    failed the read at the first one: one passing 503 made error_logs ERROR (exit 3)."""
    clock = FakeClock()
    answered = (200, {"entries": [entry("a")]})
    replies = Replies(clock, (status, google_error(status, reason)), answered)
    read = prod_reader(clock, replies, timeout_s=60).entries(FILTER)
    assert [r.message for r in read] == ["a"] and read.partial is None
    assert clock.slept == [TRANSIENT_BACKOFF_S] and len(replies.sent) == 2


def test_a_5xx_that_persists_is_one_line_after_its_retries_and_a_4xx_is_not_retried() -> None:
    clock = FakeClock()
    replies = Replies(clock, (503, google_error(503, "UNAVAILABLE")))
    with pytest.raises(LoggingError) as caught:
        prod_reader(clock, replies, timeout_s=60).entries(FILTER)
    asked = 1 + TRANSIENT_RETRIES
    assert str(caught.value) == (
        f"Cloud Logging entries:list: HTTP 503: The service is unavailable. (asked {asked} times)"
    )
    assert len(replies.sent) == asked
    assert clock.slept == [TRANSIENT_BACKOFF_S * 2**i for i in range(TRANSIENT_RETRIES)]
    clock = FakeClock()
    replies = Replies(clock, (400, google_error(400, "INVALID_ARGUMENT")))
    with pytest.raises(LoggingError, match=r"HTTP 400: The service is unavailable\.$"):
        prod_reader(clock, replies, timeout_s=60).entries(FILTER)
    assert len(replies.sent) == 1 and clock.slept == []


def test_a_5xx_without_time_for_the_backoff_is_not_asked_again() -> None:
    clock = FakeClock()
    replies = Replies(clock, (500, google_error(500, "INTERNAL")))
    with pytest.raises(LoggingError, match=r"HTTP 500: The service is unavailable\.$"):
        prod_reader(clock, replies).entries(FILTER, timeout_s=TRANSIENT_BACKOFF_S)
    assert len(replies.sent) == 1 and clock.slept == []


# ---------------------------------------------------------------- through the stand-in


@pytest.fixture
def logged(standin: StandIn, nbaops_home: Path) -> StandIn:
    append_entries(
        nbaops_home,
        [
            {
                "resource": {
                    "type": "cloud_run_revision",
                    "labels": {"service_name": "grading-service", "revision_name": "r-1"},
                },
                "severity": "ERROR",
                "timestamp": STANDIN_NOW - dt.timedelta(minutes=m),
                "textPayload": f"failure {m}",
            }
            for m in (5, 6, 7)
        ],
    )
    return standin


def list_requests(home: Path) -> list[dict[str, Any]]:
    return [r for r in StandIn.requests(home) if r["path"] == "/v2/entries:list"]


@pytest.mark.parametrize("transport", ["stdlib", "session"])
def test_standin_empty_pages_with_a_token_are_asked_again_until_the_entries(
    logged: StandIn, nbaops_home: Path, local_profile: ProfileConfig, transport: str
) -> None:
    clock = FakeClock()
    reader = LogReader(
        local_profile,
        logged.url,
        timeout_s=5,
        transport=transport,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    set_api_fault(nbaops_home, "logging-empty-pages", count=3)
    read = reader.entries(FILTER)
    assert [r.message for r in read] == ["failure 5", "failure 6", "failure 7"]
    assert read.partial is None
    assert clock.slept == [reader.pause_s] * 3
    sent = list_requests(nbaops_home)
    assert len(sent) == 4 and all(r["contract"] == "ok" for r in sent)
    tokens = [r["body"].get("pageToken") for r in sent]
    assert tokens[0] is None and tokens[1] and len(set(tokens[1:])) == 1  # the same search


def test_standin_endless_empty_pages_end_partial_at_the_cap(
    logged: StandIn, nbaops_home: Path, local_profile: ProfileConfig
) -> None:
    clock = FakeClock()
    reader = LogReader(
        local_profile, logged.url, timeout_s=5, sleep=clock.sleep, monotonic=clock.monotonic
    )
    set_api_fault(nbaops_home, "logging-empty-pages")  # until cleared
    read = reader.entries(FILTER)
    assert list(read) == [] and read.partial is not None
    assert f"after {MAX_PAGES} entries:list requests" in read.partial
    assert len(list_requests(nbaops_home)) == MAX_PAGES


def test_standin_429_is_retried_once_then_names_the_quota(
    logged: StandIn, nbaops_home: Path, local_profile: ProfileConfig
) -> None:
    clock = FakeClock()
    reader = LogReader(
        local_profile, logged.url, timeout_s=5, sleep=clock.sleep, monotonic=clock.monotonic
    )
    set_api_fault(nbaops_home, "logging-empty-pages", count=1)
    set_api_fault(nbaops_home, "logging-error", status=429, count=1)
    assert len(reader.entries(FILTER)) == 3  # empty page, 429, retried: the entries
    assert clock.slept == [reader.pause_s, reader.quota_backoff_s]
    set_api_fault(nbaops_home, "logging-error", status=429, count=2)
    with pytest.raises(LoggingError, match=r"quota ReadRequestsPerMinutePerProject \(60 a minute"):
        reader.entries(FILTER)
    assert len(list_requests(nbaops_home)) == 3 + 2


def test_standin_a_refused_request_leaves_the_empty_pages_fault_to_the_next_search(
    logged: StandIn, nbaops_home: Path
) -> None:
    """The ``logging-empty-pages`` fault answers a search that could run: a request the
    API refuses (an unsupported filter, a page token of another search) is 400 as without
    the fault and takes none of its pages. The stand-in took the fault first: the bad
    filter was answered 200 with an empty page, and the bad token spent the fault's one
    page, so the next good request got the entries at once."""
    import urllib.error
    import urllib.request

    def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            logged.url + "/v2/entries:list",
            data=json.dumps({"resourceNames": ["projects/nbaops-local"], **body}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    set_api_fault(nbaops_home, "logging-empty-pages", count=1)
    status, reply = post({"filter": "textPayload : failure"})
    assert (status, reply.get("error", {}).get("status")) == (400, "INVALID_ARGUMENT"), reply
    status, reply = post({"filter": FILTER, "pageToken": "bm90LW91cnM"})
    assert (status, reply.get("error", {}).get("status")) == (400, "INVALID_ARGUMENT"), reply
    status, reply = post({"filter": FILTER})
    assert status == 200 and not reply.get("entries") and reply["nextPageToken"], reply
    status, reply = post({"filter": FILTER, "pageToken": reply["nextPageToken"]})
    assert status == 200 and len(reply["entries"]) == 3, reply
