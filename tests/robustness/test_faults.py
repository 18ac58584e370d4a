"""Transient faults and rate limits: a full and an incremental load still equal the workspace, exactly once.

Measured numbers (requests, faults, 429s) are printed; `pytest -s` shows them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests

from sources.intercom import settings
from tests.robustness.support import RESOURCES, TOKEN, MakeHarness, assert_matches_workspace, mutate
from tests.source.conftest import Harness

TRANSIENT_KINDS = ("500", "502", "503", "reset", "truncate")
RATE_WINDOW_SECONDS = 10
"""The simulator enforces `rate_limit` per minute in 10-second windows of rate_limit / 6 requests."""


@pytest.fixture(autouse=True)
def short_scroll_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scroll page lost to a fault leaves the scroll open until it expires; wait for it in short steps."""
    monkeypatch.setattr(settings, "SCROLL_BUSY_WAIT_SECONDS", 0.1)


def full_then_incremental(harness: Harness, seed: int) -> None:
    harness.run(RESOURCES)
    assert_matches_workspace(harness)
    mutate(harness, random.Random(seed))
    harness.run(RESOURCES)
    assert_matches_workspace(harness)


def test_ten_percent_transient_faults_change_nothing(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = make_harness(
        {"contacts": 320, "companies": 60, "conversations": 100},
        fault_rate=0.1,
        fault_kinds=TRANSIENT_KINDS,
        fault_seed=11,
        scroll_page_size=20,
        scroll_ttl_seconds=0.5,
    )
    full_then_incremental(harness, seed=1)

    server = harness.server
    errors = sum(server.status_counts.get(status, 0) for status in (500, 502, 503))
    resets = server.request_count - sum(server.status_counts.values())  # answered with no response at all
    truncated = sum("truncated" in record.getMessage() for record in caplog.records)
    print(
        f"\n[faults] requests={server.request_count} 5xx={errors} resets={resets} truncated={truncated} "
        f"status_counts={dict(sorted(server.status_counts.items()))}"
    )
    assert errors and resets and truncated, "every kind of fault happened"
    assert errors + resets + truncated >= 0.05 * server.request_count


@dataclass
class CompetingApp:
    """Another app on the same workspace, spending its rate limit in a burst.

    Once the connector has made `at_request` requests, the other app takes what is left of the current
    10-second window (the simulator has no second app: its limit drops to one request for the rest of the
    window, which leaves the same nothing) and keeps knocking, each knock a 429, until the window resets.
    The connector's limiter, paced on the headers of its own earlier responses, believes budget is left and
    meets 429s too.
    """

    harness: Harness
    at_request: int
    baseline: int
    sent: int = 0
    rejected: int = 0
    bursts: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def connector_requests(self) -> int:
        return self.harness.server.request_count - self.baseline - self.sent

    def run(self) -> None:
        while self.connector_requests() < self.at_request:
            if self.stop.wait(0.002):
                return
        self.bursts += 1
        knobs, window = self.harness.server.knobs, current_window()
        limit, knobs.rate_limit = knobs.rate_limit, 1
        try:
            self.knock_until_the_window_ends(window)
        finally:
            knobs.rate_limit = limit

    def knock_until_the_window_ends(self, window: int) -> None:
        session, url = requests.Session(), f"{self.harness.server.base_url}/me"
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        while not self.stop.is_set() and current_window() == window:
            status = session.get(url, headers=headers, timeout=10).status_code
            self.sent += 1
            self.rejected += status == 429
            time.sleep(0.02)


def current_window() -> int:
    return int(time.time() // RATE_WINDOW_SECONDS)


@contextmanager
def competing_app(harness: Harness, at_request: int) -> Iterator[CompetingApp]:
    app = CompetingApp(harness, at_request, baseline=harness.server.request_count)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        app.stop.set()
        thread.join(timeout=15)


@dataclass(frozen=True)
class StormRun:
    connector_requests: int
    connector_429s: int
    other_requests: int
    other_429s: int


def run_in_a_storm(harness: Harness, at_request: int) -> StormRun:
    server = harness.server
    requests_before, rate_limited_before = server.request_count, server.status_counts.get(429, 0)
    with competing_app(harness, at_request) as app:
        harness.run(RESOURCES)
    assert app.bursts == 1, "the other app's burst came during the run"
    rate_limited = server.status_counts.get(429, 0) - rate_limited_before
    requests_made = server.request_count - requests_before
    return StormRun(requests_made - app.sent, rate_limited - app.rejected, app.sent, app.rejected)


def test_a_429_storm_from_another_app_changes_nothing(make_harness: MakeHarness) -> None:
    harness = make_harness({"contacts": 150, "companies": 30, "conversations": 30}, rate_limit=600)
    full = run_in_a_storm(harness, at_request=12)
    assert_matches_workspace(harness)
    mutate(harness, random.Random(2))
    incremental = run_in_a_storm(harness, at_request=4)
    assert_matches_workspace(harness)

    server = harness.server
    print(f"\n[429 storm] full run: {full}\n[429 storm] incremental run: {incremental}")
    print(f"[429 storm] all requests={server.request_count} 429s={server.status_counts.get(429, 0)}")
    assert server.status_counts.get(429, 0) >= 0.3 * server.request_count, "a storm of 429s happened"
    assert full.connector_429s >= 1 and incremental.connector_429s >= 1, "the connector met 429s in both"


def test_a_tight_rate_limit_costs_under_half_a_percent_of_429s(make_harness: MakeHarness) -> None:
    per_window = 125
    harness = make_harness(
        {"contacts": 300, "companies": 60, "conversations": 220}, rate_limit=per_window * 6
    )
    harness.run(RESOURCES)
    assert_matches_workspace(harness)
    server = harness.server
    too_many = server.status_counts.get(429, 0)
    print(
        f"\n[tight limit] requests={server.request_count} limit={per_window}/10s 429s={too_many} "
        f"({100 * too_many / server.request_count:.2f}%)"
    )
    assert server.request_count > per_window, "the limit was not binding"
    assert too_many * 200 < server.request_count
