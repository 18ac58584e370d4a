"""dlt source for the Intercom REST API 2.11.

`intercom_source()` declares the resources; `client.py` owns HTTP; `records.py` shapes rows;
`settings.py` holds the constants. Every argument resolves the dlt way too (`SOURCES__INTERCOM__REGION`,
`.dlt/config.toml`, `.dlt/secrets.toml`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import dlt
from dlt.common import logger
from dlt.sources import DltResource

from . import settings
from .client import IntercomClient, resolve_base_url
from .columns import TABLE_COLUMNS, custom_attribute_hints, keep_stored_types
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
from .records import (
    Record,
    company_row,
    contact_row,
    conversation_row,
    convert_timestamps,
    epoch_seconds,
    part_rows,
    plain_row,
    ticket_row,
)
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
    "intercom_source",
    "make_client",
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
        path: str, data_key: str, cursor: Any, lookback: int, query: dict[str, Any], model: str | None
    ) -> Iterator[list[Record]]:
        """Pages of a search sorted by `updated_at`, timestamps converted, rows already loaded dropped.

        `model` names the data-attribute model typing custom attributes (tickets have none).
        """
        dates = attributes.custom_date_keys(model) if model else frozenset()
        recent = RecentRows(dlt.current.resource_state(), lookback, cursor)
        try:
            for page in client.search(path, data_key, query):
                yield recent.changed([convert_timestamps(record, dates) for record in page])
        finally:
            recent.prune()

    reconciling = reconcile_deletes and end is None

    @dlt.resource(name="contact_changes", primary_key="id", selected=False)
    def contact_changes(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at",
            initial_value=start,
            end_value=end,
            lag=contacts_lookback_seconds,
            row_order="asc",
            on_cursor_value_missing="include",
        ),
    ) -> Iterator[list[Record]]:
        """Contacts changed since the cursor, from POST /contacts/search sorted by `updated_at` ascending.

        The parent of `contacts` and the per-contact tables. Contact search matches dates by whole day,
        so the query starts at the day of (cursor - lookback); rows re-read unchanged are dropped. With
        `reconcile_deletes`, contacts gone from the API follow as gone markers.
        """
        query = contacts_updated_query(_epoch(updated_at.start_value), _epoch(updated_at.end_value))
        yield from search_feed(
            settings.CONTACTS_SEARCH, "data", updated_at, contacts_lookback_seconds, query, "contact"
        )
        if reconciling:
            live = {contact["id"] for page in client.cursor_pages("/contacts", "data") for contact in page}
            yield from gone_markers("contacts", live)

    @dlt.transformer(
        data_from=contact_changes,
        name="contacts",
        primary_key="id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["contacts"], **DELETED_AT_HINT},
    )
    def contacts(page: list[Record]) -> Iterator[list[Record]]:
        """Contacts (users and leads), incremental on `updated_at`, merged on `id`.

        Tags, companies, notes and subscriptions embedded in a contact are cut at 10 by the API and are
        not loaded from here: `contact_tags`, `contact_companies`, `notes` and `contact_subscriptions` hold
        them complete. `deleted_at` is set on contacts the API no longer returns (`reconcile_deletes`).
        """
        rows = [stored_row(contact) if is_gone(contact) else contact_row(contact) for contact in page]
        yield attributes.with_column_hints("contact", rows)

    def per_contact_table(
        name: str, key: tuple[str, ...], rows_of: Any, selected: bool = True, replace_per_contact: bool = True
    ) -> DltResource:
        def read(page: list[Record]) -> Iterator[list[Record]]:
            yield rows_of(client, page)

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
        live: set[str] = set()
        for page in client.scroll_companies():
            live.update(company["id"] for company in page)
            yield [convert_timestamps(company, dates) for company in page]
        if reconciling:
            yield from gone_markers("companies", live)

    @dlt.transformer(
        data_from=company_changes,
        name="companies",
        primary_key="id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["companies"], **DELETED_AT_HINT},
    )
    def companies(page: list[Record]) -> Iterator[list[Record]]:
        """Companies changed since the cursor, merged on `id`; their tags become `companies__tags`.

        `deleted_at` is set on companies the API no longer returns (`reconcile_deletes`).
        """
        rows = [stored_row(company) if is_gone(company) else company_row(company) for company in page]
        yield attributes.with_column_hints("company", rows)

    @dlt.transformer(
        data_from=company_changes,
        name="company_segments",
        primary_key=("company_id", "segment_id"),
        merge_key="company_id",
        write_disposition="merge",
        columns={**TABLE_COLUMNS["company_segments"], **TOMBSTONE_HINT},
    )
    def company_segments(page: list[Record]) -> Iterator[list[Record]]:
        """Segments of each changed company, replaced per company; from the embedded list when present."""
        yield company_segment_rows(client, page)

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

    @dlt.transformer(
        name="conversation_parts",
        data_from=conversations,
        primary_key="id",
        write_disposition="merge",
        columns=TABLE_COLUMNS["conversation_parts"],
    )
    def conversation_parts(page: list[Record]) -> Iterator[list[Record]]:
        """Parts of each conversation changed in this run, from GET /conversations/{id}, fetched concurrently.

        Every part carries `conversation_id`. The API returns the newest 500 parts of a conversation; older
        parts loaded by earlier runs stay.
        """
        paths = [settings.CONVERSATION.format(id=conversation["id"]) for conversation in page]
        for detail in client.fetch_each(paths):
            if detail is not None:
                _warn_if_truncated(detail, "conversation_parts")
                parts = part_rows(convert_timestamps(detail), "conversation_parts", "conversation_id")
                # a plain table mark: otherwise dlt carries the parent page's custom-attribute hints over
                yield dlt.mark.with_table_name(parts, "conversation_parts")

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

        def window_done(window_end: int) -> None:
            if end is None:
                state["exported_until"] = window_end

        yield from content_export_rows(
            client,
            windows,
            poll_seconds=export_poll_seconds,
            max_poll_seconds=export_max_wait_seconds,
            on_window_done=window_done,
        )

    def reference_list(name: str) -> DltResource:
        path, data_key, params, paged = settings.REFERENCE_LISTS[name]

        def read() -> Iterator[list[Record]]:
            if paged:
                for page in client.numbered_pages(path, data_key, params):
                    yield [plain_row(item) for item in page]
            else:
                yield [plain_row(item) for item in client.get_list(path, data_key, params)]

        read.__doc__ = f"All {name} from GET {path}, replaced on every run (deleted ones disappear)."
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

    return (
        contact_changes,
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
        company_changes,
        companies,
        company_segments,
        conversations,
        conversation_parts,
        ticket_changes,
        tickets,
        ticket_parts,
        admin_activity_logs,
        content_exports,
        *(reference_list(name) for name in settings.REFERENCE_LISTS),
        data_attributes,
    )


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

    def with_column_hints(self, model: str, rows: list[Record]) -> Any:
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
        fresh = []
        for row in rows:
            updated_at = epoch_seconds(row["updated_at"])
            if self._seen.get(row["id"]) == updated_at:
                continue
            fresh.append(row)
            if updated_at < self._start or (self._end is not None and updated_at >= self._end):
                continue  # the incremental drops it: it is not loaded, so not remembered
            self._newest = max(self._newest, updated_at)
            if updated_at >= self._newest - self._lookback:
                self._seen[row["id"]] = updated_at
        if len(self._seen) > self._prune_above:
            self.prune()
        return fresh

    def prune(self) -> None:
        horizon = self._newest - self._lookback
        for row_id in [key for key, value in self._seen.items() if value < horizon]:
            del self._seen[row_id]
        self._prune_above = 2 * len(self._seen) + 1_000


def _warn_if_truncated(parent: Record, parts_key: str) -> None:
    parts = parent.get(parts_key) or {}
    total, returned = parts.get("total_count") or 0, len(parts.get(parts_key) or [])
    if total > returned:
        logger.info(f"{parent['id']} has {total} parts; the API returns only the newest {returned}")


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else epoch_seconds(value)
