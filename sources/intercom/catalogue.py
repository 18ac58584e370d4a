"""The catalogue: one entry per table the source reads, and the only list of them.

An entry says where a table comes from (endpoint, envelope key, paging, parent), how it is keyed and
loaded (primary and merge keys, cursor, write disposition, file format) and what a row holds (`shape`,
records.py). Which reader makes its rows is `read` (readers.py); `build.py` binds readers to entries in
this order, parents first. The column generator (tests/columns_from_spec.py), the README and the simulator
tests read the same entries. docs/architecture.md shows how an object is added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from dlt.common.destination import TLoaderFileFormat

from . import settings
from .memberships import (
    company_segment_rows,
    contact_company_rows,
    contact_segment_rows,
    contact_subscription_rows,
    contact_tag_rows,
    data_event_rows,
    note_rows,
)
from .records import COMPANY, CONTACT, CONVERSATION, PART, PLAIN, TICKET, Shape

USERS_AND_COMPANIES = "Read and list users and companies"
"""The Developer Hub permission (OAuth scope) contacts, companies and their lists need; the other names are
Intercom's own too (developers.intercom.com, OAuth scopes). Where Intercom does not say which permission an
endpoint needs, the entry's comment says what is assumed."""

Reader = Literal[
    "search", "scroll", "table", "children", "parts", "reference", "logs", "exports", "attributes"
]
Paging = Literal["search", "scroll", "pages", "unpaged", "per_parent", "detail", "windows", "export_jobs"]
PER_ROW_PAGING: Final[frozenset[Paging]] = frozenset({"per_parent", "detail"})
"""Pagings that read for each row of the parent: its detail, or a sub-list of its own."""


@dataclass(frozen=True)
class Cursor:
    """An incremental cursor: dlt keeps it in the resource's state under `field`."""

    field: str
    lookback: str | None = None
    """The source option holding the lookback (dlt's `lag`) in seconds."""
    row_order: Literal["asc", "desc"] | None = None
    """How the API sorts the rows (dlt stops reading past the end value of an ascending feed)."""
    missing: Literal["include"] | None = None
    """`include`: rows without the field (gone markers, deletions.py) pass the cursor."""


@dataclass(frozen=True)
class Entry:
    """One table (or one internal feed that parents tables)."""

    name: str
    read: Reader
    endpoint: str = ""
    """The path read (`{id}`: each parent's id); none for a table made from its parent's records."""
    data_key: str = "data"
    """Where the envelope lists the records."""
    paging: Paging = "unpaged"
    parent: str | None = None
    primary_key: str | tuple[str, ...] = "id"
    merge_key: str | None = None
    write_disposition: Literal["merge", "replace"] = "merge"
    file_format: TLoaderFileFormat = settings.FILE_FORMAT
    cursor: Cursor | None = None
    shape: Shape = PLAIN
    table: str | None = None
    """The table a feed's records are shaped and typed for (default: the entry's own name)."""
    internal: bool = False
    """A feed read once for the tables that name it as parent: never a table, never returned."""
    selected: bool = True
    model: str | None = None
    """The data-attribute model typing its custom attributes (GET /data_attributes?model=...)."""
    params: Mapping[str, str] = field(default_factory=dict)
    detail: str | None = None
    """Each item's own endpoint, read after the list or where a parent does not embed what is needed."""
    sort: Literal["asc", "desc"] = "asc"
    query: Literal["contacts", "exact"] | None = None
    """How a search asks for `updated_at`: by whole days (contacts) or to the second."""
    live_ids: str | None = None
    """With `reconcile_deletes`: where the live ids are listed (None: the feed lists them all anyway)."""
    reconciled: str | None = None
    """The table whose rows `reconcile_deletes` marks gone (it gets a `deleted_at` column)."""
    rows: Callable[..., list[dict[str, Any]]] | None = None
    """Per-parent rows (memberships.py): `rows(client, parents, endpoint)`."""
    tombstones: bool = False
    """Replaced per parent: tombstone rows, merged on the parent column (`merge_key`)."""
    parent_column: str | None = None
    parallelized: bool = False
    window_days: str | None = None
    """The source option holding the length of its windows."""
    permission: str = USERS_AND_COMPANIES
    """The app permission its endpoints need: named when Intercom refuses them (403) and it is skipped."""
    every_parent: str | None = None
    """The listing of every parent, read instead of the changed parents when the run asks for all of them
    (`data_events_scope="all"`)."""

    @property
    def method(self) -> str:
        """The HTTP method of `endpoint`: searches and export jobs are POSTed."""
        return "POST" if self.paging in ("search", "export_jobs") else "GET"

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every `METHOD /path` the entry reads."""
        more = [f"GET {path}" for path in (self.detail, self.live_ids) if path]
        return (f"{self.method} {self.endpoint}", *more) if self.endpoint else tuple(more)

    @property
    def parts_key(self) -> str:
        """Where the parent lists its parts: `{"conversation_parts": {"conversation_parts": [...]}}`."""
        return self.name

    @property
    def shaped_table(self) -> str:
        return self.table or self.name


NEWS = "Read and list news items and newsfeeds"


def _reference(
    name: str, endpoint: str, data_key: str = "data", paging: Paging = "unpaged", **more: Any
) -> Entry:
    return Entry(name, "reference", endpoint, data_key, paging, write_disposition="replace", **more)


CATALOGUE: Final[tuple[Entry, ...]] = (
    Entry(
        "contact_changes",
        "search",
        "/contacts/search",
        paging="search",
        internal=True,
        selected=False,
        parallelized=True,
        cursor=Cursor("updated_at", lookback="contacts_lookback_seconds", missing="include"),
        shape=CONTACT,
        model="contact",
        table="contacts",
        sort="desc",
        query="contacts",
        live_ids="/contacts",
        reconciled="contacts",
    ),
    Entry(
        "contacts",
        "table",
        parent="contact_changes",
        shape=CONTACT,
        model="contact",
        reconciled="contacts",
    ),
    *(
        Entry(
            name,
            "children",
            endpoint,
            paging="per_parent",
            parent="contact_changes",
            primary_key=key,
            merge_key="contact_id",
            tombstones=True,
            rows=rows,
            selected=selected,
        )
        for name, endpoint, key, rows, selected in (
            ("contact_tags", "/contacts/{id}/tags", ("contact_id", "tag_id"), contact_tag_rows, True),
            (
                "contact_companies",
                "/contacts/{id}/companies",
                ("contact_id", "company_id"),
                contact_company_rows,
                True,
            ),
            (
                "contact_subscriptions",
                "/contacts/{id}/subscriptions",
                ("contact_id", "subscription_type_id"),
                contact_subscription_rows,
                True,
            ),
            (
                "contact_segments",
                "/contacts/{id}/segments",
                ("contact_id", "segment_id"),
                contact_segment_rows,
                False,
            ),
            ("notes", "/contacts/{id}/notes", ("id",), note_rows, True),
        )
    ),
    Entry(
        "data_events",
        "children",
        "/events",
        "events",
        "per_parent",
        parent="contact_changes",
        primary_key=("id",),
        rows=data_event_rows,
        selected=False,
        permission="Read events",
        every_parent="/contacts",
    ),
    Entry(
        "company_changes",
        "scroll",
        settings.COMPANIES_SCROLL,
        paging="scroll",
        internal=True,
        selected=False,
        parallelized=True,
        cursor=Cursor("updated_at", missing="include"),
        shape=COMPANY,
        model="company",
        table="companies",
        reconciled="companies",
    ),
    Entry(
        "companies",
        "table",
        parent="company_changes",
        shape=COMPANY,
        model="company",
        reconciled="companies",
    ),
    Entry(
        "company_segments",
        "children",
        "/companies/{id}/segments",
        paging="per_parent",
        parent="company_changes",
        primary_key=("company_id", "segment_id"),
        merge_key="company_id",
        tombstones=True,
        rows=company_segment_rows,
    ),
    Entry(
        "conversations",
        "search",
        "/conversations/search",
        "conversations",
        "search",
        cursor=Cursor("updated_at", lookback="conversations_lookback_seconds", row_order="asc"),
        shape=CONVERSATION,
        model="conversation",
        query="exact",
        parallelized=True,
        permission="Read conversations",
    ),
    Entry(
        "conversation_parts",
        "parts",
        "/conversations/{id}",
        paging="detail",
        parent="conversations",
        shape=PART,
        parent_column="conversation_id",
        parallelized=True,
        permission="Read conversations",
    ),
    Entry(
        "ticket_changes",
        "search",
        "/tickets/search",
        "tickets",
        "search",
        internal=True,
        selected=False,
        parallelized=True,
        cursor=Cursor("updated_at", lookback="conversations_lookback_seconds", row_order="asc"),
        query="exact",
        permission="Read tickets",
    ),
    Entry("tickets", "table", parent="ticket_changes", shape=TICKET, permission="Read tickets"),
    # parts embedded in the search results; GET /tickets/{id} for those that are not (no Arrow path)
    Entry(
        "ticket_parts",
        "parts",
        "/tickets/{id}",
        paging="detail",
        parent="ticket_changes",
        shape=Shape(children=PART.children, custom_key=None),
        parent_column="ticket_id",
        permission="Read tickets",
    ),
    Entry(
        "admin_activity_logs",
        "logs",
        "/admins/activity_logs",
        "activity_logs",
        "windows",
        cursor=Cursor("created_at"),
        window_days="activity_log_window_days",
        permission="Read admin activity logs",
    ),
    # the cursor is the end of the last exported window, in the resource state as `exported_until`
    Entry(
        "content_exports",
        "exports",
        "/export/content/data",
        paging="export_jobs",
        primary_key="receipt_id",
        window_days="export_window_days",
        permission="Export content data",
    ),
    # Reference lists, replaced on every run. Intercom names the list in each envelope differently; ticket
    # types follow the spec's example (`data`).
    _reference("admins", "/admins", "admins", permission="Read admins"),
    _reference("teams", "/teams", "teams", permission="Read admins"),
    _reference("tags", "/tags", permission="Read tags"),
    _reference("segments", "/segments", "segments", params={"include_count": "true"}),
    # subscription types and data attributes: users-and-companies data, assumed to need that permission
    _reference("subscription_types", "/subscription_types"),
    _reference("ticket_types", "/ticket_types", permission="Read tickets"),
    # Intercom names no permission for the help center endpoints: "Read content data" is assumed
    _reference("help_centers", "/help_center/help_centers", paging="pages", permission="Read content data"),
    _reference(
        "help_center_collections", "/help_center/collections", paging="pages", permission="Read content data"
    ),
    # Article `statistics` (views, conversations, reactions) are not in the spec's `article_list_item`, only
    # in `article` (GET /articles/{id}): each article is read after the list (concurrently), one more call
    # per article and run.
    _reference(
        "articles", "/articles", paging="pages", detail="/articles/{id}", permission="Read and list articles"
    ),
    _reference("news_items", "/news/news_items", paging="pages", permission=NEWS),
    _reference("newsfeeds", "/news/newsfeeds", paging="pages", permission=NEWS),
    Entry(
        "data_attributes",
        "attributes",
        "/data_attributes",
        primary_key=("model", "full_name"),
        write_disposition="replace",
        params={"include_archived": "true"},
    ),
)

ENTRIES: Final[dict[str, Entry]] = {entry.name: entry for entry in CATALOGUE}


def descendants(name: str) -> list[Entry]:
    """The entries read from `name`'s records, their own children included, in catalogue order."""
    found = {name}
    for entry in CATALOGUE:
        if entry.parent in found:
            found.add(entry.name)
    return [entry for entry in CATALOGUE if entry.name in found - {name}]


TABLES: Final[tuple[str, ...]] = tuple(entry.name for entry in CATALOGUE if not entry.internal)
"""The tables the source loads (its resources), in catalogue order."""
