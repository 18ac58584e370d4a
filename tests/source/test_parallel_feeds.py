"""Feeds in parallel: the contacts, companies and conversations feeds are read at the same time (dlt
parallelized resources), not one after another, and still load exactly what the API holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sources.intercom.catalogue import ENTRIES
from tests.robustness.support import assert_parts_loaded, differences, loaded_updated_at, truth_updated_at
from tests.source.conftest import Harness, start_harness

FEEDS = {
    "contacts": "POST /contacts/search",
    "companies": "GET /companies/scroll",
    "conversations": "POST /conversations/search",
}


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Harness]:
    """2,900 contacts (one chain of 20 pages, below slicing), 1,000 companies, 450 conversations; each
    request takes 20 ms, so a feed read after another would start only once the other's pages are read."""
    harness, server = start_harness(tmp_path, contacts=2_900, companies=1_000, conversations=450)
    server.knobs.update(latency_ms=20)
    try:
        yield harness
    finally:
        server.stop()


def routes_in_order(harness: Harness) -> list[str]:
    return [f"{method} {target.split('?')[0]}" for method, target, _ in harness.server.request_log]


def test_every_feed_is_reading_before_any_feed_has_finished(slow: Harness) -> None:
    slow.server.request_log.clear()
    slow.run(("contacts", "companies", "conversations", "conversation_parts"))
    routes = routes_in_order(slow)
    first = {feed: routes.index(route) for feed, route in FEEDS.items()}
    last = {feed: len(routes) - 1 - routes[::-1].index(route) for feed, route in FEEDS.items()}
    assert max(first.values()) < min(last.values()), (first, last)
    # the contacts chain is 20 pages: one feed waiting for its turn behind another would start after them
    contact_pages_before = {
        feed: routes[: first[feed]].count(FEEDS["contacts"]) for feed in ("companies", "conversations")
    }
    assert max(contact_pages_before.values()) < 10, contact_pages_before
    for table in ("contacts", "companies", "conversations"):
        assert not differences(loaded_updated_at(slow, table), truth_updated_at(slow, table)), table
    assert_parts_loaded(slow, slow.workspace.conversations)
    parts = slow.query("SELECT count(*), count(DISTINCT id) FROM conversation_parts")[0]
    assert parts[0] == parts[1]


def test_the_feeds_are_the_parallelized_entries() -> None:
    parallel = {name for name, entry in ENTRIES.items() if entry.parallelized}
    assert {"contact_changes", "company_changes", "conversations", "ticket_changes"} <= parallel
