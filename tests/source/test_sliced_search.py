"""Sliced searches (sources/intercom/slices.py): a large search range read as concurrent slices, exact at
every edge: whole local days for contacts (daylight-saving days too), seconds for conversations and tickets.

Slice sizes are made small here (150 rows, slicing from 300) so that a few hundred records make many slices.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from intercom_sim.workspace import DAY
from sources.intercom import settings
from sources.intercom.search import exact_updated_query
from sources.intercom.slices import (
    DaySlicing,
    ExactSlicing,
    Plan,
    Slice,
    SlicedSearch,
    probe_edges,
    span_of,
)
from tests.robustness.support import differences, loaded_updated_at, truth_updated_at
from tests.source.conftest import Harness, start_harness

NEW_YORK = "America/New_York"


pytestmark = pytest.mark.usefixtures("small_slices")


@pytest.fixture
def big(tmp_path: Path) -> Iterator[Harness]:
    harness, server = start_harness(tmp_path, contacts=1_500, companies=20, conversations=700, tickets=400)
    server.knobs.update(search_timezone=NEW_YORK)
    try:
        yield harness
    finally:
        server.stop()


def exact(harness: Harness, table: str) -> None:
    drift = differences(loaded_updated_at(harness, table), truth_updated_at(harness, table))
    assert not drift, f"{table}: {drift}"
    rows = harness.query(f"SELECT count(*), count(DISTINCT id) FROM {table}")[0]
    assert rows[0] == rows[1], f"{table} has a key twice"


def search_calls(harness: Harness, path: str) -> int:
    return int(harness.server.counters.get(f"POST {path}", 0))


def test_a_backfill_reads_each_feed_in_slices_and_loads_every_row_once(big: Harness) -> None:
    big.server.reset_counters()
    big.run(("contacts", "conversations", "tickets"))
    for table in ("contacts", "conversations"):
        exact(big, table)
    assert set(big.ids("tickets")) == set(big.workspace.tickets)
    # 1,500 contacts in one chain are 10 pages; in slices of ~150 rows: the first page, the edge probe it
    # does not answer, then at least one page per slice (a slice's first page tells its count: no probe)
    assert search_calls(big, "/contacts/search") >= 1 + 1 + 10
    assert search_calls(big, "/conversations/search") >= 1 + 1 + 5


def test_an_incremental_run_with_nothing_changed_still_costs_one_search_call(big: Harness) -> None:
    big.run(("contacts", "conversations", "tickets"))
    big.server.reset_counters()
    big.run(("contacts", "conversations", "tickets"))
    for path in ("/contacts/search", "/conversations/search", "/tickets/search"):
        assert search_calls(big, path) == 1, path
    assert big.server.counters.get("GET /me", 0) == 0


def test_a_first_run_asks_for_its_first_page_and_what_slicing_needs_at_once(
    big: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page, the workspace's zone (GET /me), the range's oldest row and the data attributes that
    type the page are each a round trip before the first slice: all four are sent before any answers."""
    arrivals: list[tuple[float, str]] = []
    record = big.server._record

    def timed(request: Any, template: str | None) -> None:
        arrivals.append((time.monotonic(), f"{request.method} {request.path}"))
        record(request, template)

    monkeypatch.setattr(big.server, "_record", timed)
    big.server.knobs.update(latency_ms=300)
    big.run(("contacts",))
    first = arrivals[:4]
    names = sorted(name for _, name in first)
    assert names == ["GET /data_attributes", "GET /me", "POST /contacts/search", "POST /contacts/search"]
    assert first[-1][0] - first[0][0] < 0.15, f"one waited for another's answer: {first}"
    exact(big, "contacts")


def test_slices_meet_at_local_midnight_without_losing_or_repeating_a_contact(big: Harness) -> None:
    """300 contacts at 23:59:59 and 00:00:00 New York time over the days around both daylight-saving
    changes of 2025 (days of 23 and 25 hours): the planner cuts these dense days at local midnights."""
    ws = big.workspace
    zone = ZoneInfo(NEW_YORK)
    stamps = []
    for first in (datetime(2025, 3, 6), datetime(2025, 10, 30)):
        for day in range(6):
            local = (first + timedelta(days=day)).replace(tzinfo=zone)
            midnight = int(local.timestamp())
            stamps += [midnight - 1, midnight] * 13
    for cid, stamp in zip(sorted(ws.contacts), stamps, strict=False):
        ws.update_contact(cid, updated_at=stamp)
    big.run(("contacts",))
    exact(big, "contacts")


def test_rows_at_the_seconds_between_conversation_slices_are_loaded_once(big: Harness) -> None:
    """400 conversations updated two per second over 200 seconds: slices of this dense range meet at seconds
    that hold rows on both sides."""
    ws = big.workspace
    edge = ws.clock.now() - 200 * DAY
    for number, conversation_id in enumerate(sorted(ws.conversations)[:400]):
        ws.update_conversation(conversation_id, updated_at=edge + number // 2)
    big.run(("conversations",))
    exact(big, "conversations")


def test_contacts_indexed_late_during_a_sliced_backfill_arrive_with_the_next_run(big: Harness) -> None:
    ws = big.workspace
    big.server.knobs.update(search_lag_seconds=120)
    late = [ws.create_contact(email=f"late-{n}@example.com") for n in range(3)]
    big.run(("contacts",))
    assert not set(late) & set(big.ids("contacts")), "not yet searchable"
    ws.clock.advance(600)
    big.run(("contacts",))
    exact(big, "contacts")


# ------------------------------------------------------------------------------------------------ units


def test_day_slices_are_whole_local_days_across_a_daylight_saving_change() -> None:
    zone = ZoneInfo(NEW_YORK)
    scheme = DaySlicing(zone)
    start = int(datetime(2025, 3, 1, tzinfo=zone).timestamp())
    end = int(datetime(2025, 3, 21, tzinfo=zone).timestamp())
    bounds = scheme.cut(start, end, 4)
    assert [datetime.fromtimestamp(b, zone).strftime("%d %H:%M") for b in bounds] == [
        "06 00:00",
        "11 00:00",
        "16 00:00",
    ]
    query = scheme.query(Slice(bounds[0], bounds[1]))
    assert query["value"][0] == {"field": "updated_at", "operator": ">", "value": bounds[0] - 1}
    assert query["value"][1] == {"field": "updated_at", "operator": "<", "value": bounds[1]}
    assert scheme.cut(start, start + 3600, 5) == [], "one day cannot be cut"


def test_exact_slices_overlap_their_query_by_a_second_and_hold_a_half_open_range() -> None:
    scheme = ExactSlicing()
    assert scheme.cut(100, 200, 4) == [125, 150, 175]
    piece = Slice(125, 150)
    query: Any = scheme.query(piece)
    assert query["value"][0]["value"] == 124 and query["value"][1]["value"] == 150
    assert [piece.holds(t) for t in (124, 125, 149, 150)] == [False, True, True, False]
    assert Slice(10, None).holds(10**12)


class CountingSearch:
    """A search API over `updated_at` stamps for the slice planner: `total_count` of a query's range (`>`
    and `<` strict, as the planner's exact queries cover [start, end)), the oldest or newest stamp for an
    edge probe; every call counted."""

    def __init__(self, stamps: list[int]) -> None:
        self.stamps = stamps
        self.calls = 0

    def map_concurrently(self, call: Any, items: list[Any]) -> list[Any]:
        return [call(item) for item in items]

    def search_page(
        self,
        path: str,
        query: Any,
        parse: Any,
        order: str,
        cursor: str | None = None,
        per_page: int | None = None,
    ) -> dict[str, Any]:
        """A page of `per_page` rows (150) in `order`; the next page's cursor is its starting offset."""
        self.calls += 1
        size, offset = per_page or settings.PER_PAGE, int(cursor or 0)
        matched = sorted((t for t in self.stamps if self.matches(query, t)), reverse=order == "descending")
        more = offset + size < len(matched)
        following = {"next": {"starting_after": str(offset + size)}} if more else {}
        rows = [{"updated_at": t} for t in matched[offset : offset + size]]
        return {"total_count": len(matched), "data": rows, "pages": following}

    @staticmethod
    def matches(query: Any, stamp: int) -> bool:
        conditions = query["value"] if isinstance(query["value"], list) else [query]
        bounds = {condition["operator"]: condition["value"] for condition in conditions}
        return bool(bounds[">"] < stamp < bounds.get("<", 10**12))


def planned(stamps: list[int], start: int, stop: int) -> tuple[list[Slice], int]:
    api = CountingSearch(stamps)
    sliced = SlicedSearch(api, "/conversations/search", ExactSlicing(), None)  # type: ignore[arg-type]
    plan = sliced.plan(start, stop, len([t for t in stamps if start <= t < stop]), open_end=False)
    assert plan.complete and plan.rows == len(stamps)
    for stamp in stamps:
        assert sum(piece.holds(stamp) for piece in plan.slices) == 1, f"{stamp} in no slice or in two"
    return plan.slices, api.calls


def test_a_cut_span_s_last_part_is_counted_from_the_others_not_probed() -> None:
    """1,000 rows spread evenly: 7 parts of at most 150 rows, 6 of them probed."""
    slices, probes = planned(list(range(0, 10_000, 10)), 0, 10_000)
    assert len(slices) == 7 and probes == 6


def test_a_last_part_counted_empty_is_still_read() -> None:
    """300 rows in the first half of the range: the second half's count comes to nothing, yet it is part of
    a slice, so a row that reached it between the counts would still be read."""
    slices, probes = planned(list(range(0, 5_000, 16))[:300], 0, 10_000)
    assert slices[0].start == 0 and slices[-1].end == 10_000
    assert all(left.end == right.start for left, right in zip(slices, slices[1:], strict=False))
    assert probes == 3  # [0, 5000) of two halves, then its first half, then that one's first half


def test_the_oldest_row_is_probed_even_below_a_start_so_slices_are_cut_where_the_rows_are() -> None:
    api, query = CountingSearch(list(range(9_000, 10_000))), exact_updated_query(0, None)
    edges = {"descending": 9_999, **probe_edges(api, "/conversations/search", query, ["ascending"])}  # type: ignore[arg-type]
    assert span_of(0, None, edges) == (9_000, 10_000) and api.calls == 1
    assert span_of(9_500, None, edges) == (9_500, 10_000), "never below the run's start"


def test_the_slices_with_the_most_pages_left_are_read_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill ends with its last chain: each free request goes to the slice with the most pages left, so
    long ones start first and the short ones fill in after."""
    monkeypatch.setattr(settings, "SLICE_CONCURRENCY", 1)  # one request at a time: the order they run in
    monkeypatch.setattr(settings, "PER_PAGE", 100)
    stamps = [*range(0, 200), *range(1_000, 1_300), *range(2_000, 2_050)]
    pieces = [Slice(0, 1_000), Slice(1_000, 2_000), Slice(2_000, None)]
    plan = Plan(pieces, 550, complete=True, counts=[200, 300, 50])
    sliced = SlicedSearch(CountingSearch(stamps), "/conversations/search", ExactSlicing(), None)  # type: ignore[arg-type]
    order = [(piece.start, page["data"][0]["updated_at"]) for piece, page in sliced.bodies(plan)]
    # pages left 2, 3, 1: the 3-page slice, then the two with 2 left, then those with 1 left, longest waiting
    # first
    assert order == [(1_000, 1_000), (0, 0), (1_000, 1_100), (2_000, 2_000), (0, 100), (1_000, 1_200)]


@dataclass
class Streamed:
    """What a streamed read of a fake search did: its slices, calls, pages handed on and pages dropped."""

    slices: list[Slice]
    calls: int
    pages: int
    dropped: int


def stream_of(stamps: list[int], start: int, stop: int, open_end: bool = False) -> Streamed:
    """A streamed read of [start, stop) (open above with `open_end`) over `stamps`; every stamp read once."""
    api = CountingSearch(stamps)
    sliced = SlicedSearch(api, "/conversations/search", ExactSlicing(), None)  # type: ignore[arg-type]
    total = len([t for t in stamps if start <= t < stop])
    read: list[int] = []
    slices: set[Slice] = set()
    pages = 0
    for piece, page in sliced.stream(start, stop, total, open_end):
        rows = [row["updated_at"] for row in page["data"]]
        read += [t for t in rows if piece.holds(t)]
        slices.add(piece)
        pages += 1
    assert sorted(read) == sorted(stamps), "a row read twice or never"
    assert api.calls == pages + sliced.probes, "a call neither handed on nor counted as dropped"
    return Streamed(sorted(slices), api.calls, pages, sliced.probes)


def streamed(stamps: list[int], start: int, stop: int, open_end: bool = False) -> tuple[list[Slice], int]:
    """The slices a streamed read found in [start, stop) and the calls it made; every stamp read once."""
    read = stream_of(stamps, start, stop, open_end)
    return read.slices, read.calls


def test_a_streamed_backfill_reads_each_row_once_and_asks_no_slice_for_its_count() -> None:
    """1,000 rows spread evenly in slices of 150: 7 spans, each a slice whose first page told its count, so
    the calls are the slices' pages and nothing more."""
    slices, calls = streamed(list(range(0, 10_000, 10)), 0, 10_000)
    assert len(slices) == 7 and calls == 7
    assert all(left.end == right.start for left, right in zip(slices, slices[1:], strict=False))


def test_a_span_too_large_is_cut_again_and_its_page_starts_its_first_part() -> None:
    """900 rows in the last tenth of the range, and an open end: the spans holding them are cut again, and
    each one's page, holding its first part whole, is that part's page; the empty spans cost a page each,
    and the last slice stays open. No call is spent on counting alone."""
    stamps = list(range(9_000, 9_900))
    read = stream_of(stamps, 0, 10_000, open_end=True)
    slices = read.slices
    assert slices[0].start == 0 and slices[-1].end is None
    assert all(left.end == right.start for left, right in zip(slices, slices[1:], strict=False))
    assert all(sum(piece.holds(t) for t in stamps) <= 150 for piece in slices)  # a page each
    assert read.dropped == 0 and read.calls == read.pages == len(slices)


def test_the_first_part_of_a_span_cut_again_is_read_on_with_the_span_s_query_up_to_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slices of 400: [6,667, 10,000) holds 666 rows and is cut in two. Its first page (150 rows up to
    7,412) says the first half holds about 335, so that half goes on from it, page after page of the
    span's query, and stops at the page that reaches 8,333; the rows past it are the second half's."""
    monkeypatch.setattr(settings, "SLICE_ROWS", 400)
    stamps = [*range(0, 5_000, 50), *range(5_000, 10_000, 5)]
    read = stream_of(stamps, 0, 10_000)
    assert Slice(6_667, 8_333) in read.slices and Slice(8_333, 10_000) in read.slices
    # 67 rows: 1 page; 367 rows: 3; the first half, 333 rows, 3 pages of the span's query (the first one
    # the span's own); the second half, 334 rows: 3
    assert read.dropped == 0 and read.calls == 1 + 3 + 3 + 3


def test_a_span_whose_page_shows_its_first_part_too_large_only_counted_it() -> None:
    """300 rows in the first 300 seconds of a range of 10,000: a span's first page ending at second 149
    says its first part holds far more than a slice, so the page is dropped and the parts are read from
    their own first pages, cut again until they fit."""
    stamps = [*range(0, 300), 9_000]
    read = stream_of(stamps, 0, 10_000)
    assert read.dropped >= 1
    assert all(sum(piece.holds(t) for t in stamps) <= 150 for piece in read.slices)


def test_an_error_in_any_slice_reaches_the_reader() -> None:
    class Failing(CountingSearch):
        def search_page(
            self, path: str, query: Any, parse: Any, order: str, cursor: str | None = None
        ) -> Any:
            if cursor:
                raise RuntimeError("page 2 failed")
            return super().search_page(path, query, parse, order, cursor)

    # 400 rows in one second: a slice that cannot be cut, read page after page
    sliced = SlicedSearch(Failing([5] * 400), "/conversations/search", ExactSlicing(), None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="page 2 failed"):
        list(sliced.stream(0, 10, 400, open_end=False))


def test_a_large_backfill_reads_larger_slices_up_to_a_share_of_a_chain() -> None:
    """10,000 rows spread evenly, 8 chains: slices of 0.7 x 10,000 / 8 = 875 rows rather than 150, so that
    fewer slices end in a part-filled page; still one page of counting per slice and no more."""
    slices, calls = streamed(list(range(0, 100_000, 10)), 0, 100_000)
    assert len(slices) == 12  # ceil(10,000 / 875)
    assert calls == sum(
        math.ceil(sum(piece.holds(t) for t in range(0, 100_000, 10)) / 150) for piece in slices
    )


def test_requests_in_flight_stay_within_the_concurrency_while_answered_pages_are_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page's parse does not hold one of the `SLICE_CONCURRENCY` requests: the next request goes while it
    runs, and there are never more requests at once than that."""
    monkeypatch.setattr(settings, "SLICE_CONCURRENCY", 2)
    lock = threading.Lock()
    state = {"requests": 0, "parses": 0, "most_requests": 0, "requests_beside_a_parse": 0}

    def change(key: str, by: int) -> None:
        with lock:
            state[key] += by
            state["most_requests"] = max(state["most_requests"], state["requests"])
            if state["parses"] and state["requests"] == 2:
                state["requests_beside_a_parse"] += 1

    class Slow(CountingSearch):
        def search_page(
            self, path: str, query: Any, parse: Any, order: str, cursor: str | None = None
        ) -> Any:
            change("requests", 1)
            time.sleep(0.01)
            body = super().search_page(path, query, None, order, cursor)
            change("requests", -1)
            return parse(json.dumps(body).encode())

    def slow_parse(content: bytes) -> Any:
        change("parses", 1)
        time.sleep(0.02)
        change("parses", -1)
        return json.loads(content)

    sliced = SlicedSearch(Slow(list(range(3_000))), "/conversations/search", ExactSlicing(), slow_parse)  # type: ignore[arg-type]
    assert sum(len(page["data"]) for _, page in sliced.stream(0, 3_000, 3_000, open_end=False)) >= 3_000
    assert state["most_requests"] == 2
    assert state["requests_beside_a_parse"] > 0
