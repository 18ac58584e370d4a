"""Sliced searches: a large range of a search feed read as many short cursor chains at once.

A search's pages form one cursor chain: each page needs the one before it, so 200,000 contacts are 1,334
requests in a row, about 22 minutes at the ~1 s a real search page takes. A backfill instead cuts its range
of `updated_at` into slices of about `SLICE_ROWS` rows (`SlicedSearch.stream`): each span's first page tells
its `total_count`, and makes it a slice or has it cut again (its page then starts the first of its parts
when it can: `_Step.query`). Up to `SLICE_CONCURRENCY` requests run at once, the next going to the slice
with the most pages left, every request under the run's one rate limiter. A chunk of a backfill (chunks.py)
is planned first with one-row probes (`SlicedSearch.plan`), then read the same way. A range of at most
`SLICE_MIN_ROWS` rows is read as one chain, as before: an incremental run with nothing changed still costs
one search call.

Edges: each slice is a half-open range [start, end) of unix seconds, and its rows are filtered to exactly
that range on arrival, whatever the API's bounds match, so no row is read into two slices or falls between
two. The query is made to cover the slice:

- Contact search matches dates by whole day in the workspace's time zone (`GET /me`, `app.timezone`):
  `> t` starts at the day after t's, `< t` stops before t's day. Contact slices are whole local days,
  daylight-saving days included, asked for as `> (first day's start - 1 s) AND < (end day's start)`.
- Conversation and ticket search match to the second, and the spec documents `>` as "greater (or equal)";
  `< ` is assumed inclusive too. `> start - 1 AND < end` covers [start, end) either way.

Rows updated during the backfill move to a later `updated_at`: the last slice is open-ended, and what it
misses the next run's lookback reads. The incremental cursor is the newest `updated_at` loaded, as without
slices, and is committed only with the load.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlt.common import logger

from . import settings
from .arrow_pages import body_list_length, body_value, decoded_json, newest
from .client import SEARCH_CURSOR, IntercomClient, work_through
from .search import Filter, contacts_days_query, exact_updated_query


@dataclass(frozen=True, order=True)
class Slice:
    """Rows with `updated_at` in [start, end) (unix seconds); `end` None is open."""

    start: int
    end: int | None

    def holds(self, updated_at: int) -> bool:
        return self.start <= updated_at and (self.end is None or updated_at < self.end)


class ExactSlicing:
    """Conversations and tickets: search matches to the second, slices cut anywhere."""

    def query(self, piece: Slice) -> Filter:
        return exact_updated_query(piece.start - 1, piece.end)

    def cut(self, start: int, end: int, parts: int) -> list[int]:
        """Inner boundaries cutting [start, end) into `parts` equal spans."""
        step = (end - start) / parts
        bounds = sorted({start + round(step * n) for n in range(1, parts)})
        return [bound for bound in bounds if start < bound < end]


class DaySlicing:
    """Contacts: search matches whole days in the workspace's zone, so slices are whole local days."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def query(self, piece: Slice) -> Filter:
        return contacts_days_query(piece.start, piece.end)

    def day_start(self, day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp())

    def day_of(self, instant: int) -> date:
        return datetime.fromtimestamp(instant, self.zone).date()

    def floor(self, instant: int) -> int:
        """The start of `instant`'s local day."""
        return self.day_start(self.day_of(instant))

    def cut(self, start: int, end: int, parts: int) -> list[int]:
        """Inner boundaries at local midnights cutting [start, end) into up to `parts` spans of whole days."""
        first, last = self.day_of(start), self.day_of(end - 1)
        days = (last - first).days + 1
        if days < 2:
            return []
        step = days / min(parts, days)
        offsets = sorted({round(step * n) for n in range(1, min(parts, days))})
        bounds = [self.day_start(first + timedelta(days=offset)) for offset in offsets if 0 < offset < days]
        return [bound for bound in bounds if start < bound < end]


def workspace_zone(client: IntercomClient) -> ZoneInfo | None:
    """The workspace's time zone from `GET /me` (`app.timezone`), None if it is missing or unknown."""
    name = (client.me().get("app") or {}).get("timezone")
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning(f"unknown workspace timezone {name!r}: contact backfills are read as one chain")
        return None


@dataclass
class SlicedSearch:
    """One search feed's backfill: plans the slices of [start, end) and reads them concurrently."""

    client: IntercomClient
    path: str
    scheme: ExactSlicing | DaySlicing
    parse_body: Callable[[bytes], Any] | None
    data_key: str = "data"
    """Where a page lists its rows."""
    probes: int = 0
    """Calls that only counted rows: one-row probes, and first pages of spans then cut again."""
    slices: int = 0
    """Slices read (their first page, at least)."""
    _counting: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def total(self, query: Filter) -> int:
        """`total_count` of a query: one call for a page of one row."""
        with self._counting:
            self.probes += 1
        # sorted like every search the connector makes (the order does not change the count): a search
        # engine, and the simulator, answer that one from their `updated_at` index
        return int(_one_row_page(self.client, self.path, query, "ascending").get("total_count") or 0)

    def plan(
        self, start: int, stop: int, total: int, open_end: bool, chunk: ChunkLimit | None = None
    ) -> Plan:
        """Slices of about `SLICE_ROWS` rows covering [start, stop), the last one open with `open_end`.

        Each span with too many rows is cut into as many equal spans as its count asks for, all but the last
        probed together (the last one holds the rest of the span's count); a span that cannot be cut (one
        second, one local day) stays as it is. With a `chunk`, only the lowest spans it needs are kept at
        each step (and probed further): the plan then covers a prefix of the range, its last slice closed,
        and says so (`complete` False)."""
        start = self._floor(start)
        slice_rows = min(settings.SLICE_ROWS, chunk.rows) if chunk else settings.SLICE_ROWS
        pending = [(Slice(start, stop), total)]
        done: list[tuple[Slice, int]] = []
        cut_short = False
        while pending:
            cuts: list[tuple[list[Slice], int]] = []
            for piece, count in pending:
                parts = self._parts(piece, count, stop, slice_rows)
                if parts:
                    cuts.append((parts, count))
                else:
                    done.append((piece, count))
            probed = [span for spans, _ in cuts for span in spans[:-1]]
            counts = self.client.map_concurrently(lambda span: self.total(self.scheme.query(span)), probed)
            pending = _counted(cuts, dict(zip(probed, counts, strict=True)))
            if chunk is not None:
                pending, done, dropped = _lowest_for(chunk, pending, done)
                cut_short = cut_short or dropped
        counted = _joined(sorted(done), slice_rows)
        slices = [span for span, _ in counted]
        if open_end and slices and not cut_short:
            slices[-1] = Slice(slices[-1].start, None)  # rows updated during the run land here
        counts = [count for _, count in counted]
        return Plan(slices, sum(counts), complete=not cut_short, counts=counts)

    def stream(self, start: int, stop: int, total: int, open_end: bool) -> Iterator[tuple[Slice, Any]]:
        """Every page of [start, stop) (open above with `open_end`), its `total` rows read as slices planned
        while they are read: the range is cut into spans of about `SLICE_ROWS` rows, and each span's first
        page of rows (150: one call, like a one-row probe) tells its `total_count`. A span that fits is a
        slice whose first page is read already; one too large is cut again, its page dropped. The first
        slices are read after one round trip, not after every span is counted (200,000 contacts at 500 ms
        took 5 rounds, 2.5 s, to plan), and a slice costs no probe of its own."""
        root = Slice(self._floor(start), None if open_end else stop)
        slice_rows = max(
            settings.SLICE_ROWS, int(settings.SLICE_CHAIN_SHARE * total / settings.SLICE_CONCURRENCY)
        )

        def cut(piece: Slice, count: int) -> list[Slice]:
            return self._parts(piece, count, stop, slice_rows)

        parts = cut(root, total)
        first = [_Step(part, None) for part in parts] if parts else [_Step(root, total)]
        yield from self._read(first, cut)

    def bodies(self, plan: Plan) -> Iterator[tuple[Slice, Any]]:
        """Every page of every slice of a plan, as (slice, body)."""
        first = [_Step(piece, count) for piece, count in zip(plan.slices, plan.counts, strict=True)]
        yield from self._read(first)

    def _read(
        self, first: list[_Step], cut: Callable[[Slice, int], list[Slice]] | None = None
    ) -> Iterator[tuple[Slice, Any]]:
        """The pages of the steps' slices, up to `SLICE_CONCURRENCY` requests at once: spans still to be
        counted first (`cut` again when their count asks for it), then the next page of the slice with the
        most pages left. A backfill ends with its last chain, and a long one started late runs on alone
        (200,000 contacts at 500 ms: the last 10 s of 45 had fewer and fewer slices in flight with the
        slices taken in date order)."""

        requests = threading.Semaphore(settings.SLICE_CONCURRENCY)

        def read(step: _Step) -> tuple[tuple[Slice, Any] | None, list[_Step]]:
            query = step.query or self.scheme.query(step.piece)
            with _Slot(requests) as slot:
                body = self.client.search_page(
                    self.path, query, slot.freed_by(self.parse_body), "ascending", step.cursor
                )
            count = total_of(body) if step.count is None else step.count
            if step.count is None and cut is not None and (parts := cut(step.piece, count)):
                return self._cut_again(step, query, body, parts, cut)
            with self._counting:
                self.slices += not step.pages
            return (step.piece, body), self._next_page(step, query, body, count)

        threads = settings.SLICE_CONCURRENCY + settings.SLICE_PARSERS
        # pages held at once: one per thread and those waiting to be read, 64 as before the parsers (peak RSS
        # of 200,000 contacts, benchmark (e), is within 10 MB of its 300 MB target)
        waiting = 2 * settings.SLICE_CONCURRENCY - threads
        yield from work_through(first, read, threads, _Step.order, depth=max(1, waiting))

    def _cut_again(
        self,
        span: _Step,
        query: Filter,
        body: Any,
        parts: list[Slice],
        cut: Callable[[Slice, int], list[Slice]],
    ) -> tuple[tuple[Slice, Any] | None, list[_Step]]:
        """A span too large, cut into `parts`. Its page, the span's oldest rows, is the first page of the
        first part too, which is read on with the span's query up to that part's end (rows past it are the
        next part's: dropped on arrival), if the page's rows say the part fits a slice. Else the page only
        counted the span: each part starts from its own first page. Either way no row is read twice."""
        head, rest = parts[0], parts[1:]
        estimate = self._rows_within(body, head)
        if estimate is None or cut(head, estimate):
            with self._counting:
                self.probes += 1
            return None, [_Step(part, None) for part in parts]
        with self._counting:
            self.slices += 1
        head_step = _Step(head, estimate, span.cursor, span.pages, query)
        return (head, body), [
            *self._next_page(head_step, query, body, estimate),
            *(_Step(p, None) for p in rest),
        ]

    def _rows_within(self, body: Any, head: Slice) -> int | None:
        """About how many rows the first part of a span holds, from the span's first page: the page's rows
        below the part's end, or, when the page ends before it, its rows spread evenly over the part (None
        without a row to go by)."""
        newest_at = newest(body, self.data_key, "updated_at")
        rows = body_list_length(body, (self.data_key,))
        if newest_at is None or not rows or head.end is None:
            return None
        if newest_at >= head.end or body_value(body, SEARCH_CURSOR) is None:
            return rows
        return math.ceil(rows * (head.end - head.start) / max(1, newest_at - head.start + 1))

    def _next_page(self, step: _Step, query: Filter, body: Any, count: int) -> list[_Step]:
        """The step after `step`'s page, if its slice has more: a part read with a wider span's query ends
        once a page reaches the part's end."""
        cursor = body_value(body, SEARCH_CURSOR)
        if not cursor:
            return []
        if step.query is not None and step.piece.end is not None:
            newest_at = newest(body, self.data_key, "updated_at")
            if newest_at is None or newest_at >= step.piece.end:
                return []
            # the rows read so far, spread over the part, as its count: a first page only tells the density
            # where the part starts, and parts growing denser, read last, kept 4 chains running alone for 1 s
            span, covered = step.piece.end - step.piece.start, max(1, newest_at - step.piece.start + 1)
            count = max(count, math.ceil((step.pages + 1) * settings.PER_PAGE * span / covered))
        return [_Step(step.piece, count, cursor, step.pages + 1, step.query)]

    def _floor(self, start: int) -> int:
        return self.scheme.floor(start) if isinstance(self.scheme, DaySlicing) else start

    def _parts(self, piece: Slice, count: int, stop: int, slice_rows: int) -> list[Slice]:
        """`piece` cut into as many equal spans as `count` rows ask for (an open piece up to `stop`, its last
        part still open); none if it fits a slice or cannot be cut (one second, one local day)."""
        parts = math.ceil(count / slice_rows)
        bounds = self.scheme.cut(piece.start, piece.end or stop, parts) if parts > 1 else []
        if not bounds:
            return []
        edges = [piece.start, *bounds, piece.end]
        return [Slice(low, high) for low, high in zip(edges, edges[1:], strict=False)]  # type: ignore[arg-type]


class _Slot:
    """One of the sliced read's `SLICE_CONCURRENCY` requests in flight, held from before the request until
    its answer has come in, not while it is parsed: the parse (7 ms of CPU, 10 to 25 ms with the GIL in
    demand) kept a chain's next request waiting, so 32 chains made 32 requests per 525-570 ms instead of
    per 510."""

    def __init__(self, slots: threading.Semaphore) -> None:
        self.slots = slots
        self.held = False

    def __enter__(self) -> _Slot:
        self.slots.acquire()
        self.held = True
        return self

    def __exit__(self, *_: object) -> None:
        self.free()

    def free(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()

    def freed_by(self, parse: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
        """`parse` (None: decode JSON), freeing the slot first."""

        def free_then_parse(content: bytes) -> Any:
            self.free()
            return (parse or decoded_json)(content)

        return free_then_parse


@dataclass(frozen=True)
class _Step:
    """One request of a sliced read: a span's first page (`count` None until that page tells it: the span
    may still be cut), or the page after `cursor` of a slice of `count` rows, `pages` of them read."""

    piece: Slice
    count: int | None
    cursor: str | None = None
    pages: int = 0
    query: Filter | None = field(default=None, compare=False)
    """The query read when not the piece's own: a span cut again whose first part goes on from its page."""

    def order(self) -> tuple[int, int]:
        if self.count is None:
            return (0, 0)
        return (1, self.pages - math.ceil(self.count / settings.PER_PAGE))


def _counted(cuts: list[tuple[list[Slice], int]], probed: dict[Slice, int]) -> list[tuple[Slice, int]]:
    """The parts of each cut span with their rows: probed, except the last part's, which is the span's count
    less its other parts' (one probe fewer per cut). Parts probed empty are left out; the last part is
    kept even when its count comes to nothing, since counts taken at different moments can disagree and a
    span left out would never be read."""
    counted: list[tuple[Slice, int]] = []
    for spans, count in cuts:
        known = [(span, probed[span] or 0) for span in spans[:-1]]
        counted += [(span, rows) for span, rows in known if rows]
        counted.append((spans[-1], max(count - sum(rows for _, rows in known), 0)))
    return sorted(counted)


def _joined(spans: list[tuple[Slice, int]], slice_rows: int) -> list[tuple[Slice, int]]:
    """Neighbouring spans joined while their rows together fit one slice: equal cuts of a skewed range
    leave many small spans, and each slice costs at least one page."""
    joined: list[tuple[Slice, int]] = []
    for span, count in spans:
        if joined and joined[-1][0].end == span.start and joined[-1][1] + count <= slice_rows:
            previous, rows = joined.pop()
            span, count = Slice(previous.start, span.end), rows + count
        joined.append((span, count))
    return joined


def _lowest_for(
    chunk: ChunkLimit, pending: list[tuple[Slice, int]], done: list[tuple[Slice, int]]
) -> tuple[list[tuple[Slice, int]], list[tuple[Slice, int]], bool]:
    """The lowest spans of `pending` and `done` holding the chunk's rows (`ChunkLimit.needs_more`), split
    back into pending and done; True when spans above them were left out."""
    kept: list[tuple[Slice, int]] = []
    spans = sorted(pending + done)
    for span, count in spans:
        if kept and not chunk.needs_more(kept):
            break
        kept.append((span, count))
    still = set(pending)
    return (
        [span for span in kept if span in still],
        [span for span in kept if span not in still],
        len(kept) < len(spans),
    )


@dataclass(frozen=True)
class ChunkLimit:
    """A chunk of a sliced backfill: at least `rows` rows, and at least one slice starting after `beyond`
    (the cursor: a slice at or below it may hold only rows loaded already, and every chunk must move it)."""

    rows: int
    beyond: int | None

    def needs_more(self, spans: list[tuple[Slice, int]]) -> bool:
        moves = self.beyond is None or any(span.start > self.beyond for span, _ in spans)
        return not moves or sum(count for _, count in spans) < self.rows


@dataclass(frozen=True)
class Plan:
    slices: list[Slice]
    rows: int
    """The rows the probes counted in these slices."""
    complete: bool
    """The slices reach the end of the range; False for a chunk, the rest left for the next run."""
    counts: list[int]
    """The rows the probes counted in each slice."""


def edges_needed(end: int | None) -> tuple[str, ...]:
    """The edges of a range `span_of` needs: the oldest row, and the newest unless the range has an end."""
    return ("ascending",) if end is not None else ("ascending", "descending")


def probe_edges(client: IntercomClient, path: str, query: Filter, orders: list[str]) -> dict[str, int | None]:
    """The first `updated_at` the query matches in each order, probed at once (a one-row page each)."""
    edges = client.map_concurrently(lambda order: _edge(client, path, query, order), orders)
    return dict(zip(orders, edges, strict=True))


def span_of(start: int | None, end: int | None, edges: dict[str, int | None]) -> tuple[int, int] | None:
    """[low, stop) of a backfill: from the oldest `updated_at` the query matches (never below `start`), to
    the given end, else past the newest it matches. None when nothing matches.

    The oldest row counts even with a `start`: a first run starts at the epoch or a `start_date` years
    before the workspace's first row, and slices cut from there came out empty (a 20,000-contact backfill
    spent 24 probes instead of 14)."""
    lows = [edge for edge in (start, edges["ascending"]) if edge is not None]
    if not lows:
        return None
    stop = end if end is not None else (edges["descending"] or int(time.time())) + 1
    return max(lows), stop


def _edge(client: IntercomClient, path: str, query: Filter, order: str) -> int | None:
    """The first `updated_at` the query matches in `order`, None when it matches nothing."""
    page = _one_row_page(client, path, query, order)
    rows = next((value for value in page.values() if isinstance(value, list)), [])
    return int(rows[0]["updated_at"]) if rows else None


def _one_row_page(client: IntercomClient, path: str, query: Filter, order: str) -> dict[str, Any]:
    """The first page of one row of a search sorted by `updated_at` in `order`: one call, which tells the
    query's `total_count` and its first row."""
    page: dict[str, Any] = client.search_page(path, query, None, order, per_page=1)
    return page


def worth_slicing(total: int) -> bool:
    return total > settings.SLICE_MIN_ROWS


def total_of(body: Any) -> int:
    return int(body_value(body, ("total_count",)) or 0)


def scheme_for(client: IntercomClient, day_granular: bool) -> ExactSlicing | DaySlicing | None:
    """How the feed's range is cut; None where it cannot be (a contact search without a known zone)."""
    if not day_granular:
        return ExactSlicing()
    zone = workspace_zone(client)
    return DaySlicing(zone) if zone is not None else None
