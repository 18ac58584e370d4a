"""dlt source for the Intercom REST API 2.11.

`intercom_source()` declares the resources; `client.py` owns HTTP; `records.py` shapes rows;
`settings.py` holds the constants. Every argument resolves the dlt way too (`SOURCES__INTERCOM__REGION`,
`.dlt/config.toml`, `.dlt/secrets.toml`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common import logger
from dlt.sources import DltResource

from . import settings
from .arrow_pages import (
    ROOT_TABLE_COLUMNS,
    ArrowShapeError,
    RecordShape,
    batched,
    convert_root_timestamps,
    envelope_schema,
    field_of,
    filter_rows,
    parent_index,
    parse_body,
    records_as_dicts,
    records_at,
    root_table,
    split_rows_with_children,
)
from .client import (
    SEARCH_CURSOR,
    IntercomClient,
    body_list_length,
    body_value,
    json_at,
    read_ahead,
    resolve_base_url,
)
from .columns import CUSTOM_ATTRIBUTE_TYPES, TABLE_COLUMNS, custom_attribute_hints, keep_stored_types
from .config import parse_date_range
from .deletions import DELETED_AT_HINT, gone_markers, is_gone, stored_row
from .errors import (
    AuthenticationError,
    ConfigurationError,
    IntercomAPIError,
    IntercomError,
    NotFoundError,
    PlanRestrictedError,
    TransientError,
)
from .exports import content_export_rows
from .memberships import (
    TOMBSTONE_HINT,
    company_segment_rows,
    contact_company_rows,
    contact_segment_rows,
    contact_subscription_rows,
    contact_tag_rows,
    data_event_rows,
    note_rows,
)
from .progress import ApiUsageReporter
from .records import (
    Record,
    company_row,
    company_shape,
    contact_row,
    contact_shape,
    conversation_row,
    convert_timestamps,
    epoch_seconds,
    part_rows,
    part_shape,
    plain_row,
    present,
    ticket_row,
)
from .runs import finish_interrupted_loads, table_row_counts
from .search import contacts_updated_query, exact_updated_query
from .windows import DAY, time_windows

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "IntercomAPIError",
    "IntercomClient",
    "IntercomError",
    "NotFoundError",
    "PlanRestrictedError",
    "TransientError",
    "finish_interrupted_loads",
    "intercom_source",
    "make_client",
    "table_row_counts",
]


def make_client(
    access_token: str,
    region: str = "us",
    base_url: str | None = None,
    api_version: str = settings.API_VERSION,
    max_workers: int = settings.MAX_WORKERS,
    retry_backoff_seconds: float = settings.BACKOFF_BASE_SECONDS,
) -> IntercomClient:
    """A client for the region (or `base_url`); validates both before any request is made."""
    if not access_token or not str(access_token).strip():
        raise ConfigurationError(
            "No Intercom access token: set SOURCES__INTERCOM__ACCESS_TOKEN or access_token in"
            " .dlt/secrets.toml ([sources.intercom])."
        )
    return IntercomClient(
        str(access_token).strip(),
        resolve_base_url(region, base_url),
        api_version=api_version,
        region_hint=region,
        max_workers=max_workers,
        backoff_base=retry_backoff_seconds,
    )


@dlt.source(name="intercom", max_table_nesting=1)
def intercom_source(
    access_token: str = dlt.secrets.value,
    region: str = "us",
    base_url: str | None = None,
    api_version: str = settings.API_VERSION,
    start_date: Any = None,
    end_date: Any = None,
    contacts_lookback_seconds: int = settings.CONTACTS_LOOKBACK_SECONDS,
    conversations_lookback_seconds: int = settings.CONVERSATIONS_LOOKBACK_SECONDS,
    activity_log_window_days: int = settings.ACTIVITY_LOG_WINDOW_DAYS,
    export_window_days: int = settings.EXPORT_WINDOW_DAYS,
    export_poll_seconds: float = settings.EXPORT_POLL_SECONDS,
    export_max_wait_seconds: float = settings.EXPORT_MAX_WAIT_SECONDS,
    reconcile_deletes: bool = False,
    max_workers: int = settings.MAX_WORKERS,
    retry_backoff_seconds: float = settings.BACKOFF_BASE_SECONDS,
    arrow: bool = True,
) -> Sequence[DltResource]:
    """Every readable Intercom object as a dlt resource.

    Args:
        access_token: A private-app or OAuth access token.
        region: "us", "eu" or "au": where the workspace is hosted.
        base_url: Overrides the region's URL (proxies, the simulator). Plain http only on loopback.
        api_version: The `Intercom-Version` header. Shapes are those of 2.11.
        start_date: Load objects updated at or after this instant (ISO-8601, datetime or pendulum).
        end_date: With `start_date`, a bounded backfill of objects updated before this instant. A bounded
            run neither reads nor moves the incremental cursors.
        contacts_lookback_seconds: How far before the cursor each contacts run starts (search is
            day-granular and indexes new contacts late). Rows re-read unchanged are not loaded again.
        conversations_lookback_seconds: The same for conversations and tickets (search to the second).
        activity_log_window_days: Length of the created_at windows admin activity logs are read in.
        export_window_days: Length of the receipt-time windows of content export jobs (one job each).
        export_poll_seconds: First interval between polls of an export job's status (it backs off).
        export_max_wait_seconds: How long an export job, ours or another holding the workspace's only
            slot, may take before the run gives up.
        reconcile_deletes: List every contact id (GET /contacts, 150 per call) and compare the scroll's
            company ids with the destination: rows the API no longer returns get `deleted_at` set and their
            membership rows removed. Skipped on bounded (`end_date`) runs.
        max_workers: Concurrent per-record fetches (details, sub-lists); all share one rate limiter.
        retry_backoff_seconds: First backoff delay for transient faults; it doubles on each retry.
        arrow: Parse the pages of contacts, companies and conversation parts straight into Arrow tables
            (sources/intercom/arrow_pages.py), which skips dlt's row normalizer. False loads them row by
            row; the tables are the same either way.
    """
    start, end = parse_date_range(start_date, end_date)
    for name, days in (
        ("activity_log_window_days", activity_log_window_days),
        ("export_window_days", export_window_days),
    ):
        if days < 1:
            raise ConfigurationError(f"{name} must be at least 1 day, not {days}.")
    client = make_client(access_token, region, base_url, api_version, max_workers, retry_backoff_seconds)
    attributes = DataAttributes(client)

    def search_feed(
        path: str,
        data_key: str,
        cursor: Any,
        lookback: int,
        query: dict[str, Any],
        model: str | None,
        shape: RecordShape | None = None,
        newest_first: bool = False,
    ) -> Iterator[list[Record] | pa.Table]:
        """Pages of a search sorted by `updated_at`, timestamps converted, rows already loaded dropped.

        `model` names the data-attribute model typing custom attributes (tickets have none). With `shape`
        (and `arrow`), pages come as Arrow tables of the records' top-level fields (see `arrow_records`).
        `newest_first` sorts descending and stops after the first page reaching below the cursor's start:
        the query's own bounds may be coarser (contact search matches whole days), the sort is exact.
        """
        dates = attributes.custom_date_keys(model) if model else frozenset()
        reader = arrow_reader(shape, data_key, **{".".join(SEARCH_CURSOR): pa.string()})
        recent = RecentRows(dlt.current.resource_state(), lookback, cursor)

        since = _epoch(cursor.start_value) or 0

        def reached_the_start(body: Any) -> bool:
            oldest = _oldest_updated_at(body, data_key)
            return oldest is None or oldest < since

        def pages() -> Iterator[list[Record] | pa.Table]:
            stop_after = reached_the_start if newest_first else None
            for body in client.search_bodies(
                path, query, reader, descending=newest_first, stop_after=stop_after
            ):
                page = arrow_records(body, data_key, shape, dates)
                if isinstance(page, pa.Table):
                    if page.num_rows:
                        yield filter_rows(page, recent.keep(*_ids_and_updated(page)))
                else:
                    yield recent.changed(page)

        try:
            yield from batched(pages(), settings.ARROW_BATCH_ROWS)
        finally:
            recent.prune()

    def arrow_reader(shape: RecordShape | None, data_key: str, **scalars: Any) -> Any:
        """The body parser of the Arrow path for records of `shape` listed under `data_key`."""
        if not arrow or shape is None:
            return None
        schema = envelope_schema((data_key,), shape.record_type(), **scalars)
        return functools.partial(parse_body, schema=schema)

    def arrow_records(
        body: Any, data_key: str, shape: RecordShape | None, dates: frozenset[str]
    ) -> list[Record] | pa.Table:
        """The records of a body: an Arrow table of their top-level fields (root timestamps converted)
        when the body was read as Arrow and fits the shape, else dicts with their timestamps converted."""
        if isinstance(body, pa.Table) and shape is not None:
            records = records_at(body, (data_key,))
            try:
                return convert_root_timestamps(records, shape)
            except ArrowShapeError as exc:
                logger.info(f"a page of {shape.table} goes the row path: {exc}")
                rows = records.to_pylist()
        else:
            rows = json_at(body, (data_key,)) or []
        return [convert_timestamps(row, dates) for row in rows]

    def arrow_tables(page: pa.Table, shape: RecordShape, model: str | None, row_of: Any) -> Iterator[Any]:
        """An Arrow page as the root rows' Arrow table plus, as rows made by `row_of`, the records with
        child rows (and all of a page the shape cannot take), both marked with the model's column hints."""
        page = page.drop_columns([name for name in shape.dropped if name in page.column_names])
        try:
            plain, with_children = split_rows_with_children(page, shape)
            table: pa.Table | None = root_table(plain, shape, _current_load_id())
        except ArrowShapeError as exc:
            logger.info(f"a page of {shape.table} goes the row path: {exc}")
            with_children, table = page, None
        if table is not None and table.num_rows:
            yield attributes.with_column_hints(model, table) if model else table
        if with_children.num_rows:
            dates = attributes.custom_date_keys(model) if model else frozenset()
            rows = [row_of(convert_timestamps(record, dates)) for record in with_children.to_pylist()]
            yield attributes.with_column_hints(model, rows) if model else rows

    def model_rows(page: list[Record] | pa.Table, model: str, row_of: Any) -> Iterator[Any]:
        """A feed's page as rows of the model's table: by the Arrow path, or made by `row_of` (gone markers
        as they are stored), marked with the model's column hints."""
        if isinstance(page, pa.Table):
            yield from arrow_tables(page, record_shape(model), model, row_of)
            return
        rows = [stored_row(record) if is_gone(record) else row_of(record) for record in page]
        yield attributes.with_column_hints(model, rows)

    def record_shape(model: str) -> RecordShape:
        """The Arrow shape of contacts or companies, typed as the destination stores them so far."""
        shape = {"contact": contact_shape, "company": company_shape}[model](attributes.custom_types(model))
        schema = dlt.current.source_schema()
        return shape.with_stored_types(
            schema.get_table_columns(shape.table) if shape.table in schema.tables else {}
        )

    reconciling = reconcile_deletes and end is None

    @dlt.resource(name="contact_changes", primary_key="id", selected=False)
    def contact_changes(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at",
            initial_value=start,
            end_value=end,
            lag=contacts_lookback_seconds,
            on_cursor_value_missing="include",
        ),
    ) -> Iterator[Any]:
        """Contacts changed since the cursor, from POST /contacts/search sorted by `updated_at`, newest first.

        The parent of `contacts` and the per-contact tables. Contact search matches dates by whole day, so
        the query asks for the whole day of (cursor - lookback) onward, but the pages are sorted to the
        second, newest first, and no page is asked for after one that reaches below (cursor - lookback):
        a run with nothing changed costs one call. Rows re-read unchanged are dropped. With
        `reconcile_deletes`, contacts gone from the API follow as gone markers.
        """
        query = contacts_updated_query(_epoch(updated_at.start_value), _epoch(updated_at.end_value))
        yield from search_feed(
            settings.CONTACTS_SEARCH,
            "data",
            updated_at,
            contacts_lookback_seconds,
            query,
            "contact",
            record_shape("contact"),
            newest_first=True,
        )
        if reconciling:
            live = {contact["id"] for page in client.cursor_pages("/contacts", "data") for contact in page}
            yield from gone_markers("contacts", live)

    @dlt.transformer(
        data_from=contact_changes,
        name="contacts",
        primary_key="id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["contacts"], **DELETED_AT_HINT, **ROOT_TABLE_COLUMNS},
    )
    def contacts(page: list[Record] | pa.Table) -> Iterator[Any]:
        """Contacts (users and leads), incremental on `updated_at`, merged on `id`.

        Tags, companies, notes and subscriptions embedded in a contact are cut at 10 by the API and are
        not loaded from here: `contact_tags`, `contact_companies`, `notes` and `contact_subscriptions` hold
        them complete. `deleted_at` is set on contacts the API no longer returns (`reconcile_deletes`).
        """
        yield from model_rows(page, "contact", contact_row)

    def per_contact_table(
        name: str, key: tuple[str, ...], rows_of: Any, selected: bool = True, replace_per_contact: bool = True
    ) -> DltResource:
        def read(page: list[Record] | pa.Table) -> Iterator[list[Record]]:
            yield rows_of(client, _as_records(page))

        read.__doc__ = rows_of.__doc__
        hints: dict[str, Any] = (
            {"merge_key": "contact_id", "columns": {**TABLE_COLUMNS[name], **TOMBSTONE_HINT}}
            if replace_per_contact
            else {"columns": TABLE_COLUMNS[name]}
        )
        return dlt.transformer(
            read,
            data_from=contact_changes,
            name=name,
            primary_key=key,
            write_disposition="merge",
            selected=selected,
            **hints,
        )

    @dlt.resource(name="company_changes", primary_key="id", selected=False)
    def company_changes(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at", initial_value=start, end_value=end, on_cursor_value_missing="include"
        ),
    ) -> Iterator[list[Record]]:
        """All companies from GET /companies/scroll (the only complete listing), one scroll at a time.

        The API cannot filter companies by date, so every run scrolls them all and the `updated_at`
        cursor is applied client-side: only changed companies reach `companies` and `company_segments`.
        With `reconcile_deletes`, companies missing from the scroll follow as gone markers.
        """
        dates = attributes.custom_date_keys("company")
        shape = record_shape("company")
        live: set[str] = set()

        def pages() -> Iterator[list[Record] | pa.Table]:
            for body in client.scroll_companies(arrow_reader(shape, "data", scroll_param=pa.string())):
                page = arrow_records(body, "data", shape, dates)
                if isinstance(page, pa.Table):
                    live.update(page.column("id").to_pylist())
                else:
                    live.update(company["id"] for company in page)
                yield page

        yield from batched(pages(), settings.ARROW_BATCH_ROWS)
        if reconciling:
            yield from gone_markers("companies", live)

    @dlt.transformer(
        data_from=company_changes,
        name="companies",
        primary_key="id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["companies"], **DELETED_AT_HINT, **ROOT_TABLE_COLUMNS},
    )
    def companies(page: list[Record] | pa.Table) -> Iterator[Any]:
        """Companies changed since the cursor, merged on `id`; their tags become `companies__tags`.

        `deleted_at` is set on companies the API no longer returns (`reconcile_deletes`).
        """
        yield from model_rows(page, "company", company_row)

    @dlt.transformer(
        data_from=company_changes,
        name="company_segments",
        primary_key=("company_id", "segment_id"),
        merge_key="company_id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["company_segments"], **TOMBSTONE_HINT},
    )
    def company_segments(page: list[Record] | pa.Table) -> Iterator[list[Record]]:
        """Segments of each changed company, replaced per company; from the embedded list when present."""
        yield company_segment_rows(client, _as_records(page))

    @dlt.resource(
        name="conversations",
        primary_key="id",
        write_disposition="merge",
        columns=TABLE_COLUMNS["conversations"],
    )
    def conversations(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at",
            initial_value=start,
            end_value=end,
            lag=conversations_lookback_seconds,
            row_order="asc",
        ),
    ) -> Iterator[list[Record]]:
        """Conversations from POST /conversations/search on `updated_at` (exact seconds), ascending.

        Incremental on `updated_at` with a small lookback. `statistics__count_conversation_parts` is the
        API's count of all parts, so a conversation truncated at 500 parts is visible against
        `conversation_parts`. Contacts, tags, teammates, topics and linked objects become child tables.
        """
        query = exact_updated_query(_epoch(updated_at.start_value), _epoch(updated_at.end_value))
        for page in search_feed(
            settings.CONVERSATIONS_SEARCH,
            "conversations",
            updated_at,
            conversations_lookback_seconds,
            query,
            "conversation",
        ):
            rows = [conversation_row(conversation) for conversation in page]
            yield attributes.with_column_hints("conversation", rows)

    parts_shape = part_shape("conversation_parts")
    parts_reader = None
    if arrow:  # a detail body is read for its id and parts only: the rest of the conversation is not held
        parts_schema = envelope_schema(PARTS_PATH, parts_shape.record_type(), id=pa.string())
        parts_reader = functools.partial(parse_body, schema=parts_schema, keep=("id", PARTS_PATH[0]))

    @dlt.transformer(
        name="conversation_parts",
        data_from=conversations,
        primary_key="id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["conversation_parts"], **ROOT_TABLE_COLUMNS},
        parallelized=True,
    )
    def conversation_parts(page: list[Record]) -> Iterator[Any]:
        """Parts of each conversation changed in this run, from GET /conversations/{id}, fetched concurrently.

        `parallelized`: dlt runs this for several search pages at once (all through the one worker pool and
        rate limiter), so the next page's details are asked for while the slowest of this page's finish.

        Every part carries `conversation_id`. The API returns the newest 500 parts of a conversation; older
        parts loaded by earlier runs stay.
        """
        paths = [settings.CONVERSATION.format(id=conversation["id"]) for conversation in page]
        details = [detail for detail in client.fetch_each(paths, parts_reader) if detail is not None]
        for detail in details:
            _warn_if_truncated(detail, "conversation_parts")
        bodies = [detail for detail in details if isinstance(detail, pa.Table)]
        rows = conversation_part_rows([detail for detail in details if not isinstance(detail, pa.Table)])
        if bodies:
            table, more_rows = arrow_parts(bodies, parts_shape)
            rows += more_rows
            if table is not None and table.num_rows:
                yield dlt.mark.with_table_name(table, "conversation_parts")
        if rows:
            # a plain table mark: otherwise dlt carries the parent page's custom-attribute hints over
            yield dlt.mark.with_table_name(rows, "conversation_parts")

    def conversation_part_rows(details: list[Record]) -> list[Record]:
        """The row path: the parts of decoded conversation bodies, each with `conversation_id`."""
        return [
            part
            for detail in details
            for part in part_rows(convert_timestamps(detail), "conversation_parts", "conversation_id")
        ]

    def arrow_parts(bodies: list[pa.Table], shape: RecordShape) -> tuple[pa.Table | None, list[Record]]:
        """The parts of conversation bodies read as Arrow: an Arrow table of those without child rows, and
        as rows (`part_rows`' shape) those with attachments, or all of them if the shape cannot take them."""
        try:
            details = pa.concat_tables(bodies, promote_options="permissive")
            parts = records_at(details, PARTS_PATH)
            if not len(parts):
                return None, []
            records = convert_root_timestamps(parts, shape).drop_columns(
                [name for name in ("conversation_id",) if name in parts.type.names]
            )
            parents = pa.compute.take(details.column("id"), parent_index(details, PARTS_PATH))
            records = records.append_column("conversation_id", parents)
            plain, with_children = split_rows_with_children(records, shape)
            table = root_table(plain, shape, _current_load_id())
        except (ArrowShapeError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            logger.info(f"a page of {shape.table} goes the row path: {exc}")
            return None, conversation_part_rows([detail for body in bodies for detail in body.to_pylist()])
        return table, [present(convert_timestamps(part)) for part in with_children.to_pylist()]

    @dlt.resource(name="ticket_changes", primary_key="id", selected=False)
    def ticket_changes(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at",
            initial_value=start,
            end_value=end,
            lag=conversations_lookback_seconds,
            row_order="asc",
        ),
    ) -> Iterator[list[Record]]:
        """Tickets changed since the cursor, from POST /tickets/search on `updated_at` (exact seconds)."""
        query = exact_updated_query(_epoch(updated_at.start_value), _epoch(updated_at.end_value))
        yield from search_feed(
            settings.TICKETS_SEARCH, "tickets", updated_at, conversations_lookback_seconds, query, None
        )

    @dlt.transformer(
        data_from=ticket_changes,
        name="tickets",
        primary_key="id",
        write_disposition="merge",
        columns=TABLE_COLUMNS["tickets"],
    )
    def tickets(page: list[Record]) -> Iterator[list[Record]]:
        """Tickets, incremental on `updated_at`, merged on `id`; contacts become `tickets__contacts`."""
        yield [ticket_row(ticket) for ticket in page]

    @dlt.transformer(
        data_from=ticket_changes,
        name="ticket_parts",
        primary_key="id",
        write_disposition="merge",
        columns=TABLE_COLUMNS["ticket_parts"],
    )
    def ticket_parts(page: list[Record]) -> Iterator[list[Record]]:
        """Parts of each changed ticket, each with `ticket_id`: from the search result when it embeds
        them, else from GET /tickets/{id} (newest 500 either way)."""
        embedded = [ticket for ticket in page if isinstance(ticket.get("ticket_parts"), dict)]
        missing = [settings.TICKET.format(id=ticket["id"]) for ticket in page if ticket not in embedded]
        fetched = [convert_timestamps(detail) for detail in client.fetch_each(missing) if detail is not None]
        for ticket in embedded + fetched:
            _warn_if_truncated(ticket, "ticket_parts")
            yield part_rows(ticket, "ticket_parts", "ticket_id")

    @dlt.resource(
        name="admin_activity_logs",
        primary_key="id",
        write_disposition="merge",
        columns=TABLE_COLUMNS["admin_activity_logs"],
    )
    def admin_activity_logs(
        created_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "created_at", initial_value=start, end_value=end
        ),
    ) -> Iterator[list[Record]]:
        """Admin activity logs from GET /admins/activity_logs, read in `created_at` windows.

        Incremental on `created_at` (logs never change). Without a cursor or start date, everything older
        than two years is asked for in one window, then month-long windows up to now.
        """
        since = _epoch(created_at.start_value) or 0
        until = _epoch(created_at.end_value) or int(time.time())
        history = until - settings.HISTORY_YEARS * 365 * DAY if start_date in (None, "") else None
        for window_start, window_end in time_windows(since, until, activity_log_window_days, history):
            params = {"created_at_after": window_start, "created_at_before": window_end}
            for page in client.numbered_pages(settings.ACTIVITY_LOGS, "activity_logs", params):
                yield [plain_row(log) for log in page]

    @dlt.resource(name="content_exports", primary_key="receipt_id", write_disposition="merge")
    def content_exports() -> Iterator[list[Record]]:
        """Message delivery and engagement rows (who received which outbound message, opens, clicks ...)
        from the Data Export API: one export job per window of receipt times, streamed and merged on
        `receipt_id`.

        The cursor is the end of the last window whose rows were all read, kept in resource state and
        committed with the load; each run starts a day before it, to pick up late receipts and the newer
        engagement of recent ones. Without a cursor or start date, the last two years are exported. Windows
        end at the time of the run; rows repeated at the edges are merged. A bounded run (`end_date`)
        leaves the cursor alone.
        """
        state = dlt.current.resource_state()
        now = int(time.time())
        default_since = (
            now - settings.HISTORY_YEARS * 365 * DAY if start_date in (None, "") else _epoch(start)
        )
        cursor = state.get("exported_until") if end is None else None
        since = cursor - settings.EXPORT_LOOKBACK_SECONDS if cursor else default_since or 0
        until = min(_epoch(end) or now, now)
        windows = time_windows(since, until, export_window_days)

        def batches() -> Iterator[tuple[list[Record], int | None]]:
            """Each batch with the end of the last window whose rows were all produced before it."""
            done: list[int] = []
            rows = content_export_rows(
                client,
                windows,
                poll_seconds=export_poll_seconds,
                max_poll_seconds=export_max_wait_seconds,
                on_window_done=done.append,
            )
            for batch in rows:
                yield batch, done[-1] if done else None
            yield [], done[-1] if done else None

        # A job is mostly waiting: the jobs run in a thread of their own while the other resources are read.
        for batch, exported_until in read_ahead(batches(), settings.EXPORT_READ_AHEAD_BATCHES):
            if exported_until is not None and end is None:
                state["exported_until"] = exported_until
            if batch:
                yield batch

    def reference_list(name: str) -> DltResource:
        path, data_key, params, paged = settings.REFERENCE_LISTS[name]

        detail = settings.REFERENCE_DETAILS.get(name)

        def items() -> Iterator[list[Record]]:
            if paged:
                yield from client.numbered_pages(path, data_key, params)
            else:
                yield client.get_list(path, data_key, params)

        def read() -> Iterator[list[Record]]:
            for page in items():
                if detail:
                    paths = [detail.format(id=item["id"]) for item in page]
                    page = [item for item in client.fetch_each(paths) if item is not None]
                yield [plain_row(item) for item in page]

        read.__doc__ = f"All {name} from GET {path}, replaced on every run (deleted ones disappear)." + (
            f" Each is then read from GET {detail} for the fields only it carries." if detail else ""
        )
        return dlt.resource(
            read, name=name, primary_key="id", write_disposition="replace", columns=TABLE_COLUMNS[name]
        )

    @dlt.resource(
        name="data_attributes",
        primary_key=("model", "full_name"),
        write_disposition="replace",
        columns=TABLE_COLUMNS["data_attributes"],
    )
    def data_attributes() -> Iterator[list[Record]]:
        """Built-in and custom data attributes of contacts, companies and conversations, archived included.

        Keyed by `model` and `full_name` (built-in attributes have no id). One call per model.
        """
        for model in settings.DATA_ATTRIBUTE_MODELS:
            yield [plain_row(attribute) for attribute in attributes.of_model(model)]

    # The feeds (contact_changes, company_changes, ticket_changes) are not returned: dlt evaluates each once
    # as the parent of the tables selected from it, and they never become tables of their own.
    resources = (
        contacts,
        per_contact_table("contact_tags", ("contact_id", "tag_id"), contact_tag_rows),
        per_contact_table("contact_companies", ("contact_id", "company_id"), contact_company_rows),
        per_contact_table(
            "contact_subscriptions", ("contact_id", "subscription_type_id"), contact_subscription_rows
        ),
        per_contact_table(
            "contact_segments", ("contact_id", "segment_id"), contact_segment_rows, selected=False
        ),
        per_contact_table("notes", ("id",), note_rows),
        per_contact_table("data_events", ("id",), data_event_rows, selected=False, replace_per_contact=False),
        companies,
        company_segments,
        conversations,
        conversation_parts,
        tickets,
        ticket_parts,
        admin_activity_logs,
        content_exports,
        *(reference_list(name) for name in settings.REFERENCE_LISTS),
        data_attributes,
    )
    usage = ApiUsageReporter(client)
    for resource in resources:
        resource.apply_hints(file_format=settings.FILE_FORMAT)
        resource.add_map(usage)
    return resources


class DataAttributes:
    """GET /data_attributes per model, fetched once per run and shared by the resources that need it."""

    def __init__(self, client: IntercomClient) -> None:
        self._client = client
        self._by_model: dict[str, list[Record]] = {}
        self._hinted: set[str] = set()

    def of_model(self, model: str) -> list[Record]:
        if model not in self._by_model:
            self._by_model[model] = self._client.get_list(
                "/data_attributes", "data", {"model": model, "include_archived": "true"}
            )
        return self._by_model[model]

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
        hints = keep_stored_types(custom_attribute_hints(self.of_model(model)), stored)
        return dlt.mark.with_hints(rows, dlt.mark.make_hints(columns=hints)) if hints else rows


class RecentRows:
    """Rows loaded within the lookback window, kept in resource state as `{id: updated_at}`.

    The lookback re-reads recent rows on every run; those whose `updated_at` has not moved are dropped
    before they reach the destination (and, for conversations, before their parts are fetched again).
    The state is committed with the load package, like the cursor itself.
    """

    def __init__(self, state: dict[str, Any], lookback_seconds: int, cursor: Any) -> None:
        self._seen: dict[str, int] = state.setdefault("recent_updated_at", {})
        self._lookback = lookback_seconds
        self._start = _epoch(cursor.start_value) or 0
        self._end = _epoch(cursor.end_value)
        self._newest = max(self._seen.values(), default=0)
        self._prune_above = 2 * len(self._seen) + 1_000

    def changed(self, rows: list[Record]) -> list[Record]:
        """The rows not loaded before at this `updated_at`; remembers those the cursor will let through."""
        keep = self.keep([row["id"] for row in rows], [epoch_seconds(row["updated_at"]) for row in rows])
        return [row for row, kept in zip(rows, keep, strict=True) if kept]

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


def _warn_if_truncated(parent: Any, parts_key: str) -> None:
    """Logs a conversation or ticket (dict or Arrow body) with more parts than the API returned."""
    total = body_value(parent, (parts_key, "total_count")) or 0
    returned = body_list_length(parent, (parts_key, parts_key))
    if total > returned:
        parent_id = body_value(parent, ("id",))
        logger.info(f"{parent_id} has {total} parts; the API returns only the newest {returned}")


PARTS_PATH = ("conversation_parts", "conversation_parts")
"""Where a conversation's body lists its parts."""

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


def _as_records(page: list[Record] | pa.Table) -> list[Record]:
    return records_as_dicts(page, MEMBERSHIP_FIELDS) if isinstance(page, pa.Table) else page


def _ids_and_updated(page: pa.Table) -> tuple[list[str], list[int]]:
    """The `id` and `updated_at` (unix seconds) of each row of an Arrow page."""
    micros = page.column("updated_at").cast(pa.int64())
    return page.column("id").to_pylist(), pa.compute.divide(micros, 1_000_000).to_pylist()


def _oldest_updated_at(body: Any, data_key: str) -> int | None:
    """The smallest `updated_at` (unix seconds, as the API sends it) of a search page; None if empty."""
    if isinstance(body, pa.Table):
        values = records_at(body, (data_key,))
        if not len(values) or "updated_at" not in values.type.names:
            return None
        oldest = pa.compute.min(field_of(values, "updated_at")).as_py()
        return None if oldest is None else int(oldest)
    stamps = [row.get("updated_at") for row in json_at(body, (data_key,)) or []]
    numbers = [int(stamp) for stamp in stamps if isinstance(stamp, int | float)]
    return min(numbers) if numbers else None


def _current_load_id() -> str:
    """The id of the load package being extracted (the row path's `_dlt_load_id`)."""
    return str(dlt.current.load_package_state()["load_id"])


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else epoch_seconds(value)
