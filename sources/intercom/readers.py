"""The readers: one generator per kind of endpoint, each reading the tables of its catalogue entries.

A reader takes the catalogue `entry` it reads and the `Run` (client, page interface, options) as keyword
arguments; `build.py` binds them, and a cursor where the entry has one. Pages come and go through the page
interface (arrow_pages.py): a reader never knows whether it holds Arrow tables or rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import dlt
from dlt.common import logger

from . import settings
from .allocator import release_free_memory
from .arrow_pages import (
    Page,
    Pages,
    RecordShape,
    batched,
    body_value,
    changed_rows,
    list_sizes,
    newest,
    oldest,
    page_ids,
    page_records,
    parse_together,
    parsed_alone,
    part_items,
    records_of,
    root_items,
    whole_json,
    with_root_timestamps,
)
from .catalogue import PER_ROW_PAGING, Entry, descendants
from .chunks import Chunking, FeedChunk, current_chunking
from .client import SEARCH_CURSOR, IntercomClient, read_ahead
from .columns import CUSTOM_ATTRIBUTE_TYPES, custom_attribute_hints, keep_stored_types
from .custom_columns import COLUMN_NAME, CustomColumns
from .deletions import gone_markers, is_gone, stored_row
from .exports import content_export_rows
from .history import HISTORY_TABLES, check_history_mode
from .records import Record, epoch_seconds, plain_row
from .search import contacts_updated_query, exact_updated_query
from .skips import Skips, selected_tables
from .slices import (
    ChunkLimit,
    Slice,
    SlicedSearch,
    edges_needed,
    probe_edges,
    scheme_for,
    span_of,
    total_of,
    worth_slicing,
)
from .windows import DAY, time_windows

QUERIES = {"contacts": contacts_updated_query, "exact": exact_updated_query}
"""How a search asks for `updated_at` (catalogue `query`)."""

MEMBERSHIP_FIELDS = (
    "id",
    "tags",
    "companies",
    "notes",
    "opted_in_subscription_types",
    "opted_out_subscription_types",
    "segments",
)
"""The fields of a contact or company the membership tables read (memberships.py)."""


@dataclass(frozen=True)
class Run:
    """What every reader of one source run shares: the client, the page interface and the options."""

    client: IntercomClient
    pages: Pages
    attributes: DataAttributes
    start: datetime | None
    end: datetime | None
    start_given: bool
    contacts_lookback_seconds: int
    conversations_lookback_seconds: int
    activity_log_window_days: int
    export_window_days: int
    export_poll_seconds: float
    export_max_wait_seconds: float
    reconcile_deletes: bool
    skips: Skips
    data_events_scope: str = "changed"
    history: bool = False

    def option(self, name: str | None) -> Any:
        return None if name is None else getattr(self, name)

    @property
    def reconciling(self) -> bool:
        return self.reconcile_deletes and self.end is None

    def reads_every_parent(self, entry: Entry) -> bool:
        """Whether `entry` is read for every parent its `every_parent` lists, not only the changed ones."""
        return entry.every_parent is not None and self.data_events_scope == "all"

    def shape(self, entry: Entry) -> RecordShape | None:
        """The Arrow shape of the entry's table, typed as the destination stores it so far; None on the
        row path."""
        table = entry.shaped_table
        if not self.pages.arrow or not entry.shape.arrow:
            return None
        custom = self.attributes.custom_types(entry.model) if entry.model else None
        columns = self.attributes.custom_columns(entry.model) if entry.model else None
        schema = dlt.current.source_schema()
        stored = schema.get_table_columns(table) if table in schema.tables else {}
        return self.pages.shape(table, entry.shape, custom, stored, columns)

    def check_mode(self, entry: Entry) -> None:
        """Stops a run whose history mode differs from the one the entry's table was loaded in."""
        if entry.shaped_table in HISTORY_TABLES:
            check_history_mode(entry.shaped_table, self.history)

    def dates(self, entry: Entry) -> frozenset[str]:
        return self.attributes.custom_date_keys(entry.model) if entry.model else frozenset()

    def hinted(self, entry: Entry, item: Page) -> Page:
        return self.attributes.with_column_hints(entry.model, item) if entry.model else item

    def row(self, entry: Entry, record: Record) -> Record:
        """The row of a record (`entry.shape`), its custom attributes keyed by their own columns."""
        row = entry.shape.row(record)
        custom_key = entry.shape.custom_key
        if entry.model and custom_key and isinstance(row.get(custom_key), dict):
            row[custom_key] = self.attributes.custom_columns(entry.model).renamed(row[custom_key])
        return row


def search(cursor: Any, *, run: Run, entry: Entry) -> Iterator[Page]:
    """Pages of a search sorted by `updated_at`, timestamps converted, rows already loaded dropped.

    `sort="desc"` stops after the first page reaching below the cursor's start: the query's own bounds may
    be coarser (contact search matches whole days), the sort is exact. A feed (`internal`) yields its pages
    to the tables that name it as parent; a table yields its rows. With `reconcile_deletes`, the ids listed
    at `live_ids` give the gone markers (deletions.py). Under a runner's chunking (chunks.py) a backfill
    stops at a chunk's end, and then gives no gone markers: its other rows are read by the next runs.
    """
    run.check_mode(entry)
    start, end = _epoch(cursor.start_value), _epoch(cursor.end_value)
    query = QUERIES[entry.query or "exact"](start, end)
    descending = entry.sort == "desc"
    opening = SearchOpening.asked(run, entry, query, start, end, backfill=_nothing_loaded(cursor))
    shape = run.shape(entry)
    dates = run.dates(entry)
    parser = run.pages.parser(shape, (entry.data_key,), **{".".join(SEARCH_CURSOR): "text"})
    recent = RecentRows(
        dlt.current.resource_state(), run.option(entry.cursor and entry.cursor.lookback), cursor
    )
    since = start or 0
    reading = ChunkReading.of(entry, end, _epoch(cursor.last_value), since)

    def reached_the_start(body: Any) -> bool:
        smallest = oldest(body, entry.data_key, cursor.cursor_path)
        return smallest is None or smallest < since

    def pages() -> Iterator[Page]:
        stop_after = reached_the_start if descending else None
        bodies = _sliced_if_large(opening, run, entry, parser, stop_after, reading)
        with closing(bodies):  # a chunk's end stops the chain's read-ahead thread at once
            for piece, body in bodies:
                keep = recent.keep if piece is None else _within(piece, recent.keep)
                page = changed_rows(records_of(body, entry.data_key, shape, dates), reading.counted(keep))
                if page is not None:
                    yield page
                if piece is None and not descending and reading.chain_ends_after(body):
                    return

    try:
        for batch in batched(pages(), settings.ARROW_BATCH_ROWS):
            page = with_root_timestamps(batch, shape, dates)
            yield from [page] if entry.internal else table(page, run=run, entry=entry)
    finally:
        recent.prune()
        release_free_memory()  # the pages' memory, left in the arenas of the threads that read them
    if run.reconciling and entry.live_ids and entry.reconciled and not reading.more:
        live = {record["id"] for page in run.client.cursor_pages(entry.live_ids, "data") for record in page}
        yield from gone_markers(entry.reconciled, live)
    reading.report()


def _sliced_if_large(
    opening: SearchOpening,
    run: Run,
    entry: Entry,
    parser: Any,
    stop_after: Callable[[Any], bool] | None,
    reading: ChunkReading,
) -> Iterator[tuple[Slice | None, Any]]:
    """The search's bodies (slice None) when its range is small; else, its first page told how large, the
    range read as concurrent slices (slices.py), each body with its slice: all of them, or under chunking
    the lowest slices holding a chunk's rows."""
    first = opening.first_page(parser)
    # decided before the page is handed on: the caller converts its rows in place (see `search_pages`)
    cursor = None if stop_after is not None and stop_after(first) else body_value(first, SEARCH_CURSOR)
    total = total_of(first)
    scheme, span = opening.scheme_and_span(first) if worth_slicing(total) else (None, None)
    if scheme is None or span is None:
        if cursor is None:
            yield None, first
            return
        # the rest of the chain is read ahead only now: read before the choice, its pages were wasted
        rest = read_ahead(
            run.client.search_pages(
                entry.endpoint, opening.query, parser, opening.order, stop_after=stop_after, cursor=cursor
            )
        )
        try:
            yield None, first
            yield from ((None, body) for body in rest)
        finally:
            rest.close()  # type: ignore[attr-defined]
        return
    sliced = SlicedSearch(run.client, entry.endpoint, scheme, parser, entry.data_key, probes=span[1])
    if span[0] is None:
        return
    low, stop = span[0]
    end = opening.end
    chunk = reading.slice_limit()
    if chunk is None or chunk.rows >= total:
        yield from sliced.stream(low, stop, total, open_end=end is None)
        logger.info(
            f"{entry.name}: {total:,} rows read as {sliced.slices} slices ({sliced.probes} probe calls)"
        )
        return
    plan = sliced.plan(low, stop, total, open_end=end is None, chunk=chunk)
    reading.more = not plan.complete
    logger.info(
        f"{entry.name}: {total:,} rows read as {len(plan.slices)} slices, a chunk of {plan.rows:,} rows"
        f" ({sliced.probes} probe calls)"
    )
    yield from sliced.bodies(plan)


@dataclass(frozen=True)
class SearchOpening:
    """A search's first page, asked for at once: GET /data_attributes, which types it, runs meanwhile, and
    the page is read once the feed's shape is known. On a first run, which may be a backfill, what slicing
    needs besides is asked for at the same time: how to cut the range (GET /me for contacts) and the edge
    of the range the first page does not hold. Each is a request's latency before the first slice; a run
    with a cursor (nothing changed: one search call) asks for them only once its first page says it is
    large."""

    run: Run
    entry: Entry
    query: Any
    start: int | None
    end: int | None
    page: Future[Any]
    ahead: tuple[Future[Any], Future[dict[str, int | None]]] | None

    @classmethod
    def asked(
        cls, run: Run, entry: Entry, query: Any, start: int | None, end: int | None, backfill: bool
    ) -> SearchOpening:
        order = _order(entry)
        page = run.client.submit(run.client.search_page, entry.endpoint, query, whole_json, order)
        opening = cls(run, entry, query, start, end, page, None)
        return replace(opening, ahead=opening._scheme_and_edges()) if backfill else opening

    @property
    def order(self) -> str:
        return _order(self.entry)

    def first_page(self, parser: Any) -> Any:
        """The first page, read by `parser` (Arrow) where it can be, else decoded JSON."""
        return parsed_alone(self.page.result(), parser)

    def scheme_and_span(self, first: Any) -> tuple[Any, tuple[tuple[int, int] | None, int]]:
        """How the feed's range is cut, and the range (`span_of`) with the probes it took. The first page
        holds one edge: the newest row when sorted newest first, else the oldest."""
        scheme, edges = self.ahead or self._scheme_and_edges()
        found = {self.order: _edge_of(first, self.entry, self.order), **edges.result()}
        return scheme.result(), (span_of(self.start, self.end, found), len(found) - 1)

    def _scheme_and_edges(self) -> tuple[Future[Any], Future[dict[str, int | None]]]:
        client, entry = self.run.client, self.entry
        orders = [order for order in edges_needed(self.end) if order != self.order]
        scheme = client.submit(scheme_for, client, entry.query == "contacts")
        return scheme, client.submit(probe_edges, client, entry.endpoint, self.query, orders)


def _nothing_loaded(cursor: Any) -> bool:
    """Whether the cursor is where a first run starts (dlt keeps `initial_value` as its `last_value`)."""
    return bool(_epoch(cursor.last_value) == _epoch(cursor.initial_value))


def _order(entry: Entry) -> str:
    return "descending" if entry.sort == "desc" else "ascending"


def _edge_of(first: Any, entry: Entry, order: str) -> int | None:
    pick = newest if order == "descending" else oldest
    return pick(first, entry.data_key, "updated_at")


@dataclass
class ChunkReading:
    """One search feed's read under a runner's chunking (chunks.py): the rows it counts toward the chunk,
    and whether it stopped before the end (`more`). `limit` None reads the feed whole."""

    feed: str
    limit: int | None
    beyond: int | None
    """The cursor's last value: a chunk of slices must reach past it."""
    since: int
    chunking: Chunking | None = None
    rows: int = 0
    more: bool = False

    @classmethod
    def of(cls, entry: Entry, end: int | None, last_value: int | None, since: int) -> ChunkReading:
        """A bounded run (`end`) keeps no cursor to resume from: it is read whole, and so is a descending
        chain (contacts below the slicing size), which `chain_ends_after` never stops.

        `chunk_rows` counts rows that cost a request each (a conversation's parts, a contact's notes): a
        chunk is then about a minute at Intercom's rate limit. A feed none of whose selected tables reads
        anything per row costs a request per page, so its chunks hold `chunk_rows` pages: 200,000 contacts
        alone at 500 ms a request took 241 s through the CLI in 19 chunks of 10,000, 44 s in one."""
        chunking = current_chunking() if end is None else None
        limit = chunking.limit_for(entry.name) if chunking is not None else None
        if limit is not None and not _reads_per_row(entry):
            limit *= settings.PER_PAGE
        return cls(entry.name, limit, last_value, since, chunking)

    def slice_limit(self) -> ChunkLimit | None:
        return None if self.limit is None else ChunkLimit(self.limit, self.beyond)

    def counted(self, keep: Any) -> Any:
        """`keep`, counting the rows it keeps from the cursor's start on (those dlt loads)."""

        def keep_and_count(ids: list[str], updated: list[int]) -> list[bool]:
            kept = keep(ids, updated)
            self.rows += sum(1 for held, at in zip(kept, updated, strict=True) if held and at >= self.since)
            return kept

        return keep_and_count

    def chain_ends_after(self, body: Any) -> bool:
        """Whether an ascending chain stops after this page: the chunk's rows are read and the chain has
        more pages. The next run starts at (cursor - lookback) and so re-reads the rest of the last second."""
        if self.limit is None or self.rows < self.limit or not body_value(body, SEARCH_CURSOR):
            return False
        self.more = True
        return True

    def report(self) -> None:
        if self.chunking is not None:
            self.chunking.record(FeedChunk(self.feed, self.rows, self.more))


def _reads_per_row(feed: Entry) -> bool:
    """Whether a selected table read from `feed` makes requests for each of its rows (details, sub-lists)."""
    return bool(selected_tables(entry for entry in descendants(feed.name) if entry.paging in PER_ROW_PAGING))


def _within(piece: Slice, keep: Any) -> Any:
    """`keep`, for the rows of the slice's own range only: a query's bounds may match more."""

    def keep_in_slice(ids: list[str], updated: list[int]) -> list[bool]:
        inside = [piece.holds(updated_at) for updated_at in updated]
        ids_in = [row_id for row_id, held in zip(ids, inside, strict=True) if held]
        kept = iter(keep(ids_in, [at for at, held in zip(updated, inside, strict=True) if held]))
        return [held and next(kept) for held in inside]

    return keep_in_slice


def scroll(cursor: Any, *, run: Run, entry: Entry) -> Iterator[Page]:
    """All records of a scroll (GET /companies/scroll, the only complete listing), one scroll at a time.

    The API cannot filter by date, so every run scrolls them all and the cursor is applied client-side:
    only changed records reach the tables. With `reconcile_deletes`, those missing from the scroll follow as
    gone markers.
    """
    run.check_mode(entry)
    shape = run.shape(entry)
    dates = run.dates(entry)
    live: set[str] = set()

    def pages() -> Iterator[Page]:
        for body in run.client.scroll_companies(
            run.pages.parser(shape, (entry.data_key,), scroll_param="text")
        ):
            page = records_of(body, entry.data_key, shape, dates)
            live.update(page_ids(page))
            yield page

    yield from (
        with_root_timestamps(batch, shape, dates) for batch in batched(pages(), settings.ARROW_BATCH_ROWS)
    )
    release_free_memory()
    if run.reconciling and entry.reconciled:
        yield from gone_markers(entry.reconciled, live)


def table(page: Page, *, run: Run, entry: Entry) -> Iterator[Page]:
    """A feed's page as rows of the entry's table (gone markers as they are stored), by the Arrow path
    where the page came that way, marked with the model's column hints."""
    shape = run.shape(entry) if entry.shape.arrow else None

    def row_of(record: Record) -> Record:
        return stored_row(record) if is_gone(record) else run.row(entry, record)

    for item in root_items(page, shape, row_of, run.dates(entry)):
        yield run.hinted(entry, item)


def children(page: Page, *, run: Run, entry: Entry) -> Iterator[list[Record]]:
    """Rows belonging to each parent of a page (memberships.py), read from `entry.endpoint` where the
    parent does not embed them complete."""
    assert entry.rows is not None
    yield entry.rows(run.client, page_records(page, MEMBERSHIP_FIELDS), entry.endpoint)


def every_parent(*, run: Run, entry: Entry) -> Iterator[list[Record]]:
    """The rows of every parent listed at `entry.every_parent` (GET /contacts, 150 a page), not only of
    those that changed: data events do not change a contact's `updated_at`. Each page's parents are read
    on the worker pool, as `children` reads changed ones."""
    assert entry.every_parent is not None
    for page in run.client.cursor_pages(entry.every_parent, "data"):
        yield from children(page, run=run, entry=entry)


def parts(page: Page, *, run: Run, entry: Entry) -> Iterator[Page]:
    """Parts of each conversation or ticket of a page, each with the parent's id (`parent_column`): from
    the parent when it embeds them, else from its own GET (`entry.endpoint`), fetched concurrently.

    The API returns the newest 500 parts of a parent; older parts loaded by earlier runs stay.
    """
    key, parent_column = entry.parts_key, entry.parent_column or "parent_id"
    shape = run.shape(entry)
    # a detail body is read for its id and parts only: the rest of the parent is not held
    parser = run.pages.parser(shape, (key, key), keep=("id", key), id="text")
    parents = page_records(page, ("id", key))
    embedded = [parent for parent in parents if isinstance(parent.get(key), dict)]
    paths = [entry.endpoint.format(id=parent["id"]) for parent in parents if parent not in embedded]
    # on the Arrow path each body is only checked whole as it comes, and the page's are parsed together
    checked = whole_json if parser else None
    fetched = [detail for detail in run.client.fetch_each(paths, checked) if detail is not None]
    details = embedded + (parse_together(fetched, parser) if parser else fetched)
    for detail in details:
        _warn_if_truncated(detail, key)
    for item in part_items(details, shape, key, parent_column):
        # a plain table mark: otherwise dlt carries the parent page's custom-attribute hints over
        yield dlt.mark.with_table_name(item, entry.name)


def reference(*, run: Run, entry: Entry) -> Iterator[list[Record]]:
    """All items of a list, page-numbered (`paging="pages"`) or not; with `detail`, each item is then read
    from its own GET for the fields only it carries."""
    client = run.client
    if entry.paging == "pages":
        lists = client.numbered_pages(entry.endpoint, entry.data_key, dict(entry.params))
    else:
        lists = iter([client.get_list(entry.endpoint, entry.data_key, dict(entry.params))])
    for page in lists:
        if entry.detail:
            paths = [entry.detail.format(id=item["id"]) for item in page]
            page = [item for item in client.fetch_each(paths) if item is not None]
        yield [plain_row(item) for item in page]


def attributes(*, run: Run, entry: Entry) -> Iterator[list[Record]]:
    """Built-in and custom data attributes of contacts, companies and conversations, archived included
    (one call per model, shared with the typing of custom attributes); a custom one with the column it
    loads into (`column_name`)."""
    for model in settings.DATA_ATTRIBUTE_MODELS:
        columns = run.attributes.custom_columns(model)
        rows = []
        for attribute in run.attributes.of_model(model):
            row = plain_row(attribute)
            if attribute.get("custom"):
                row[COLUMN_NAME] = columns.listed_column(attribute["name"])
            rows.append(row)
        yield rows


def logs(cursor: Any, *, run: Run, entry: Entry) -> Iterator[list[Record]]:
    """Records that never change, read in windows of the cursor field (`created_at_after`/`_before`).

    Without a cursor or start date, everything older than two years is asked for in one window, then
    windows of `window_days` up to now.
    """
    since = _epoch(cursor.start_value) or 0
    until = _epoch(cursor.end_value) or int(time.time())
    history = None if run.start_given else until - settings.HISTORY_YEARS * 365 * DAY
    field = cursor.cursor_path
    for window_start, window_end in time_windows(since, until, run.option(entry.window_days), history):
        params = {f"{field}_after": window_start, f"{field}_before": window_end}
        for page in run.client.numbered_pages(entry.endpoint, entry.data_key, params):
            yield [plain_row(record) for record in page]


def exports(*, run: Run, entry: Entry) -> Iterator[list[Record]]:
    """Message delivery and engagement rows (who received which outbound message, opens, clicks ...)
    from the Data Export API: one export job per window of receipt times, streamed.

    The cursor is the end of the last window whose rows were all read, kept in resource state
    (`exported_until`) and committed with the load; each run starts a day before it, to pick up late
    receipts and the newer engagement of recent ones. Without a cursor or start date, the last two years are
    exported. Windows end at the time of the run. A bounded run (`end_date`) leaves the cursor alone.
    """
    state = dlt.current.resource_state()
    now = int(time.time())
    default_since = _epoch(run.start) if run.start_given else now - settings.HISTORY_YEARS * 365 * DAY
    cursor = state.get("exported_until") if run.end is None else None
    since = cursor - settings.EXPORT_LOOKBACK_SECONDS if cursor else default_since or 0
    until = min(_epoch(run.end) or now, now)
    windows = time_windows(since, until, run.option(entry.window_days))

    def batches() -> Iterator[tuple[list[Record], int | None]]:
        """Each batch with the end of the last window whose rows were all produced before it."""
        done: list[int] = []
        rows = content_export_rows(
            run.client,
            windows,
            poll_seconds=run.export_poll_seconds,
            max_poll_seconds=run.export_max_wait_seconds,
            on_window_done=done.append,
        )
        for batch in rows:
            yield batch, done[-1] if done else None
        yield [], done[-1] if done else None

    # A job is mostly waiting: the jobs run in a thread of their own while the other resources are read.
    for batch, exported_until in read_ahead(batches(), settings.EXPORT_READ_AHEAD_BATCHES):
        if exported_until is not None and run.end is None:
            state["exported_until"] = exported_until
        if batch:
            yield batch


class DataAttributes:
    """GET /data_attributes per model, fetched once per run and shared by the resources that need it."""

    def __init__(self, client: IntercomClient, entry: Entry) -> None:
        self._client = client
        self._entry = entry
        self._by_model: dict[str, list[Record]] = {}
        self._columns: dict[str, CustomColumns] = {}
        self._lock = threading.Lock()
        self._hinted: set[str] = set()

    def of_model(self, model: str) -> list[Record]:
        with self._lock:
            if model not in self._by_model:
                self._by_model[model] = self._read(model)
            return self._by_model[model]

    def custom_columns(self, model: str) -> CustomColumns:
        """The column each of the model's custom attributes loads into (custom_columns.py), the same in
        every run; a key the list does not name has the list read again once."""
        attributes = self.of_model(model)
        with self._lock:
            if model not in self._columns:
                self._columns[model] = CustomColumns(attributes, reread=lambda: self._read(model))
            return self._columns[model]

    def _read(self, model: str) -> list[Record]:
        params = {"model": model, **self._entry.params}
        return self._client.get_list(self._entry.endpoint, self._entry.data_key, params)

    def custom_date_keys(self, model: str) -> frozenset[str]:
        """Names of the model's custom attributes typed `date` (unix seconds in the API)."""
        return frozenset(
            attribute["name"]
            for attribute in self.of_model(model)
            if attribute.get("custom") and attribute.get("data_type") == "date"
        )

    def custom_types(self, model: str) -> dict[str, Any]:
        """The model's custom attributes by API name -> dlt type (those of a known `data_type`)."""
        return {
            attribute["name"]: CUSTOM_ATTRIBUTE_TYPES[attribute["data_type"]]
            for attribute in self.of_model(model)
            if attribute.get("custom") and attribute.get("data_type") in CUSTOM_ATTRIBUTE_TYPES
        }

    def with_column_hints(self, model: str, rows: Any) -> Any:
        """`rows`, the first time for `model` marked with the column types of its custom attributes.

        dlt merges marked hints into the resource's for the rest of the run. Columns the destination
        already holds with another type keep it (`keep_stored_types`). An empty hint is never sent: dlt
        would read `columns={}` as "no columns" and drop the resource's own.
        """
        if model in self._hinted:
            return rows
        self._hinted.add(model)
        schema, table = dlt.current.source_schema(), dlt.current.resource_name()
        stored = schema.get_table_columns(table) if table in schema.tables else {}
        hints = custom_attribute_hints(self.of_model(model), self.custom_columns(model))
        hints = keep_stored_types(hints, stored)
        return dlt.mark.with_hints(rows, dlt.mark.make_hints(columns=hints)) if hints else rows


class RecentRows:
    """Rows loaded within the lookback window, kept in resource state as `{id: updated_at}`.

    The lookback re-reads recent rows on every run; those whose `updated_at` has not moved are dropped
    before they reach the destination (and, for conversations, before their parts are fetched again).
    The state is committed with the load package, like the cursor itself.
    """

    def __init__(self, state: dict[str, Any], lookback_seconds: int | None, cursor: Any) -> None:
        self._seen: dict[str, int] = state.setdefault("recent_updated_at", {})
        self._lookback = lookback_seconds or 0
        self._start = _epoch(cursor.start_value) or 0
        self._end = _epoch(cursor.end_value)
        self._newest = max(self._seen.values(), default=0)
        self._prune_above = 2 * len(self._seen) + 1_000

    def keep(self, ids: list[str], updated: list[int]) -> list[bool]:
        """For each (id, updated_at in unix seconds): whether the row is new or changed; remembers the
        rows the cursor will let through."""
        keep = []
        for row_id, updated_at in zip(ids, updated, strict=True):
            if self._seen.get(row_id) == updated_at:
                keep.append(False)
                continue
            keep.append(True)
            if updated_at < self._start or (self._end is not None and updated_at >= self._end):
                continue  # the incremental drops it: it is not loaded, so not remembered
            self._newest = max(self._newest, updated_at)
            if updated_at >= self._newest - self._lookback:
                self._seen[row_id] = updated_at
        if len(self._seen) > self._prune_above:
            self.prune()
        return keep

    def prune(self) -> None:
        horizon = self._newest - self._lookback
        for row_id in [key for key, value in self._seen.items() if value < horizon]:
            del self._seen[row_id]
        self._prune_above = 2 * len(self._seen) + 1_000


def _warn_if_truncated(parents: Any, parts_key: str) -> None:
    """Logs each conversation or ticket (a dict, or Arrow rows) with more parts than the API returned."""
    for parent_id, total, returned in list_sizes(parents, parts_key):
        if total > returned:
            logger.info(f"{parent_id} has {total} parts; the API returns only the newest {returned}")


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else epoch_seconds(value)
