"""dlt source for the Intercom REST API 2.11.

`intercom_source()` declares the resources; `client.py` owns HTTP; `records.py` shapes rows;
`settings.py` holds the constants. Every argument resolves the dlt way too (`SOURCES__INTERCOM__REGION`,
`.dlt/config.toml`, `.dlt/secrets.toml`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import dlt
from dlt.common import logger
from dlt.sources import DltResource

from . import settings
from .client import IntercomClient, resolve_base_url
from .config import parse_date_range
from .errors import (
    AuthenticationError,
    ConfigurationError,
    IntercomAPIError,
    IntercomError,
    NotFoundError,
    PlanRestrictedError,
    TransientError,
)
from .records import (
    Record,
    company_row,
    contact_row,
    conversation_row,
    epoch_seconds,
    part_rows,
    plain_row,
)
from .search import contacts_updated_query, exact_updated_query

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
            day-granular and indexes new contacts late). Rows re-read are merged on `id`.
        conversations_lookback_seconds: The same for conversations (search matches to the second).
        max_workers: Concurrent per-record fetches (conversation details); all share one rate limiter.
        retry_backoff_seconds: First backoff delay for transient faults; it doubles on each retry.
    """
    start, end = parse_date_range(start_date, end_date)
    client = make_client(access_token, region, base_url, api_version, max_workers, retry_backoff_seconds)
    attributes = DataAttributes(client)

    @dlt.resource(name="contacts", primary_key="id", write_disposition="merge")
    def contacts(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at", initial_value=start, end_value=end, lag=contacts_lookback_seconds, row_order="asc"
        ),
    ) -> Iterator[list[Record]]:
        """Contacts (users and leads) from POST /contacts/search, sorted by `updated_at` ascending.

        Incremental on `updated_at`. Contact search matches dates by whole day, so the query starts at the
        day of (cursor - lookback); rows re-read unchanged are dropped, changed ones are merged on `id`.
        Tags, companies, notes and subscriptions embedded in a contact are cut at 10 by the API and are not
        loaded from here.
        """
        dates = attributes.custom_date_keys("contact")
        query = contacts_updated_query(_epoch(updated_at.start_value), _epoch(updated_at.end_value))
        recent = RecentRows(dlt.current.resource_state(), contacts_lookback_seconds, updated_at)
        try:
            for page in client.search(settings.CONTACTS_SEARCH, "data", query):
                yield recent.changed([contact_row(contact, dates) for contact in page])
        finally:
            recent.prune()

    @dlt.resource(name="companies", primary_key="id", write_disposition="merge")
    def companies(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at", initial_value=start, end_value=end
        ),
    ) -> Iterator[list[Record]]:
        """Companies from GET /companies/scroll (the only complete listing), one scroll at a time.

        The API cannot filter companies by date, so every run scrolls them all and the `updated_at` cursor
        is applied client-side: only changed companies are loaded. Tags become `companies__tags`.
        """
        dates = attributes.custom_date_keys("company")
        for page in client.scroll_companies():
            yield [company_row(company, dates) for company in page]

    @dlt.resource(name="conversations", primary_key="id", write_disposition="merge")
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
        dates = attributes.custom_date_keys("conversation")
        query = exact_updated_query(_epoch(updated_at.start_value), _epoch(updated_at.end_value))
        recent = RecentRows(dlt.current.resource_state(), conversations_lookback_seconds, updated_at)
        try:
            for page in client.search(settings.CONVERSATIONS_SEARCH, "conversations", query):
                yield recent.changed([conversation_row(conversation, dates) for conversation in page])
        finally:
            recent.prune()

    @dlt.transformer(
        name="conversation_parts", data_from=conversations, primary_key="id", write_disposition="merge"
    )
    def conversation_parts(page: list[Record]) -> Iterator[list[Record]]:
        """Parts of each conversation changed in this run, from GET /conversations/{id}, fetched concurrently.

        Every part carries `conversation_id`. The API returns the newest 500 parts of a conversation; older
        parts loaded by earlier runs stay.
        """
        paths = [settings.CONVERSATION.format(id=conversation["id"]) for conversation in page]
        for _, detail in client.fetch_each(paths):
            if detail is None:
                continue
            _warn_if_truncated(detail)
            yield part_rows(detail)

    def small_list(name: str) -> DltResource:
        path, data_key, params = settings.SMALL_LIST_ENDPOINTS[name]

        def read() -> Iterator[list[Record]]:
            yield [plain_row(item) for item in client.get_list(path, data_key, params)]

        read.__doc__ = f"All {name} from GET {path}; small, so replaced on every run."
        return dlt.resource(read, name=name, primary_key="id", write_disposition="replace")

    @dlt.resource(name="data_attributes", primary_key=("model", "full_name"), write_disposition="replace")
    def data_attributes() -> Iterator[list[Record]]:
        """Built-in and custom data attributes of contacts, companies and conversations, archived included.

        Keyed by `model` and `full_name` (built-in attributes have no id). One call per model.
        """
        for model in settings.DATA_ATTRIBUTE_MODELS:
            yield [plain_row(attribute) for attribute in attributes.of_model(model)]

    return (
        contacts,
        companies,
        conversations,
        conversation_parts,
        *(small_list(name) for name in settings.SMALL_LIST_ENDPOINTS),
        data_attributes,
    )


class DataAttributes:
    """GET /data_attributes per model, fetched once per run and shared by the resources that need it."""

    def __init__(self, client: IntercomClient) -> None:
        self._client = client
        self._by_model: dict[str, list[Record]] = {}

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


def _warn_if_truncated(conversation: Record) -> None:
    parts = conversation.get("conversation_parts") or {}
    total, returned = parts.get("total_count") or 0, len(parts.get("conversation_parts") or [])
    if total > returned:
        logger.info(
            f"conversation {conversation['id']} has {total} parts; the API returns only the newest {returned}"
        )


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else epoch_seconds(value)
