"""Turns Intercom objects into rows: real timestamps, and list wrappers reduced to the lists they wrap.

dlt flattens nested objects into columns (`location__city`) and turns lists into child tables
(`conversations__tags`); these functions only decide what a row holds before that happens.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .settings import CONTACT_TRUNCATED_LISTS, TIMESTAMP_KEYS_EXTRA

Record = dict[str, Any]


@functools.lru_cache(maxsize=4096)  # field names: asked about for every field of every row on the row path
def is_timestamp_key(key: str) -> bool:
    return key.endswith("_at") or key in TIMESTAMP_KEYS_EXTRA


def from_unix(value: Any) -> Any:
    """Unix seconds (int, float or digit string) to an aware UTC datetime; anything else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value), tz=UTC)
    return value


def convert_timestamps(record: Record, custom_date_keys: frozenset[str] = frozenset()) -> Record:
    """Converts every Intercom timestamp in `record`, nested objects and lists included, in place.

    Built-in timestamps are the `*_at` fields plus `waiting_since` and `snoozed_until`; custom attributes
    are converted when `GET /data_attributes` declares them as dates (`custom_date_keys`).
    """
    for key, value in record.items():
        if isinstance(value, dict):
            if key == "custom_attributes":
                _convert_custom_dates(value, custom_date_keys)
            else:
                convert_timestamps(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    convert_timestamps(item)
        elif value is not None and is_timestamp_key(key):
            record[key] = from_unix(value)
    return record


def _convert_custom_dates(attributes: Record, custom_date_keys: frozenset[str]) -> None:
    for key in custom_date_keys.intersection(attributes):
        attributes[key] = from_unix(attributes[key])


def unwrap_list(wrapper: Any, key: str) -> list[Any]:
    """`{"type": "tag.list", "tags": [...]}` -> `[...]`; None or a missing key -> []."""
    if isinstance(wrapper, dict):
        return list(wrapper.get(key) or [])
    if isinstance(wrapper, list):
        return wrapper
    return []


def present(record: Record, dropped: Collection[str] = ()) -> Record:
    """The fields of `record` that hold a value, except `dropped`.

    A null carries nothing for dlt: a typed column (sources/intercom/columns.py) is null where its key is
    missing, and a key that is only ever null (an absent object such as `avatar`, whose fields are the
    columns) would only make dlt warn that it cannot type it.
    """
    return {key: value for key, value in record.items() if value is not None and key not in dropped}


@dataclass(frozen=True)
class ChildList:
    """A list field the row path loads as a child table, maybe wrapped (`{"type": ..., "data": [...]}`)."""

    field: str
    wrapper_key: str | None = None


@dataclass(frozen=True)
class Shape:
    """What a row holds of a record: the one declaration of a table's shape.

    The row path applies it with `row`; the Arrow path (arrow_pages.py) derives its `RecordShape` from it,
    so the two cannot drift apart. `arrow` says whether the Arrow path may shape the table at all.
    """

    dropped: tuple[str, ...] = ()
    """Fields not loaded from the record."""
    children: tuple[ChildList, ...] = ()
    """Lists that become child tables; a wrapped one is reduced to the list it wraps."""
    references: tuple[tuple[str, str], ...] = ()
    """(column, field): an embedded object reduced to its id (`ticket_type` -> `ticket_type_id`)."""
    custom_key: str | None = "custom_attributes"
    arrow: bool = False

    def row(self, record: Record) -> Record:
        row = present(record, self.dropped)
        for column, field in self.references:
            row[column] = (record.get(field) or {}).get("id")
        for child in self.children:
            if child.wrapper_key is not None:
                row[child.field] = unwrap_list(record.get(child.field), child.wrapper_key)
        return row


CONTACT = Shape(dropped=CONTACT_TRUNCATED_LISTS, children=(ChildList("social_profiles", "data"),), arrow=True)
"""A contact without the embedded lists Intercom cuts at 10 items (loaded complete elsewhere)."""

COMPANY = Shape(dropped=("segments",), children=(ChildList("tags", "tags"),), arrow=True)
"""A company with its complete tag list as a child table; segments go to `company_segments`."""

CONVERSATION = Shape(
    dropped=("conversation_parts",),
    children=(
        ChildList("contacts", "contacts"),
        ChildList("tags", "tags"),
        ChildList("teammates", "teammates"),
        ChildList("topics", "topics"),
        ChildList("linked_objects", "data"),
    ),
)
"""A conversation with its contacts, tags, teammates, topics and linked objects as child tables; parts
are not part of the row: they go to `conversation_parts`."""

TICKET = Shape(
    dropped=("ticket_parts", "ticket_type"),
    references=(("ticket_type_id", "ticket_type"),),
    children=(ChildList("contacts", "contacts"), ChildList("linked_objects", "data")),
)
"""A ticket with its contacts and linked objects as child tables; the embedded ticket type is reduced to
`ticket_type_id` (the `ticket_types` table holds it) and parts go to `ticket_parts`."""

PART = Shape(children=(ChildList("attachments"),), custom_key=None, arrow=True)
"""A conversation or ticket part; its attachments become a child table (the parent's id is added)."""

NOTE = Shape(dropped=("contact", "author"), references=(("contact_id", "contact"), ("author_id", "author")))
"""A note with `contact_id` and `author_id` (the admin's details live in `admins`)."""

PLAIN = Shape()
"""Every other table: the record as it comes (nulls dropped)."""

contact_row = CONTACT.row
company_row = COMPANY.row
conversation_row = CONVERSATION.row
ticket_row = TICKET.row
note_row = NOTE.row


def part_rows(parent: Record, parts_key: str, parent_column: str) -> list[Record]:
    """The parts embedded in a conversation or ticket, each carrying its parent's id."""
    parts = unwrap_list(parent.get(parts_key), parts_key)
    return [{**PART.row(part), parent_column: parent["id"]} for part in parts]


def plain_row(record: Record) -> Record:
    """Rows of reference lists (admins, teams, tags ...): timestamps converted, nulls dropped."""
    return convert_timestamps(present(record))


def json_at(body: Any, path: Sequence[str]) -> Any:
    """The value at `path` of decoded JSON; None where any step is missing."""
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())
