"""Turns Intercom objects into rows: real timestamps, and list wrappers reduced to the lists they wrap.

dlt flattens nested objects into columns (`location__city`) and turns lists into child tables
(`conversations__tags`); these functions only decide what a row holds before that happens.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from dlt.common.schema.typing import TDataType

from .arrow_pages import ChildList, RecordShape
from .columns import TABLE_COLUMNS
from .settings import CONTACT_TRUNCATED_LISTS, TIMESTAMP_KEYS_EXTRA

Record = dict[str, Any]


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


def contact_row(contact: Record) -> Record:
    """A contact without the embedded lists Intercom cuts at 10 items (loaded complete elsewhere)."""
    row = present(contact, CONTACT_TRUNCATED_LISTS)
    row["social_profiles"] = unwrap_list(contact.get("social_profiles"), "data")
    return row


def company_row(company: Record) -> Record:
    """A company with its complete tag list as a child table; segments go to `company_segments`."""
    row = present(company, ("segments",))
    row["tags"] = unwrap_list(company.get("tags"), "tags")
    return row


def conversation_row(conversation: Record) -> Record:
    """A conversation with its contacts, tags, teammates, topics and linked objects as child tables.

    Parts are not part of the row: they go to `conversation_parts`.
    """
    row = present(conversation, ("conversation_parts",))
    row["contacts"] = unwrap_list(conversation.get("contacts"), "contacts")
    row["tags"] = unwrap_list(conversation.get("tags"), "tags")
    row["teammates"] = unwrap_list(conversation.get("teammates"), "teammates")
    row["topics"] = unwrap_list(conversation.get("topics"), "topics")
    row["linked_objects"] = unwrap_list(conversation.get("linked_objects"), "data")
    return row


def ticket_row(ticket: Record) -> Record:
    """A ticket with its contacts and linked objects as child tables; the embedded ticket type is
    reduced to `ticket_type_id` (the `ticket_types` table holds it) and parts go to `ticket_parts`."""
    row = present(ticket, ("ticket_parts", "ticket_type"))
    row["ticket_type_id"] = (ticket.get("ticket_type") or {}).get("id")
    row["contacts"] = unwrap_list(ticket.get("contacts"), "contacts")
    row["linked_objects"] = unwrap_list(ticket.get("linked_objects"), "data")
    return row


def part_rows(parent: Record, parts_key: str, parent_column: str) -> list[Record]:
    """The parts embedded in a conversation or ticket, each carrying its parent's id."""
    parts = unwrap_list(parent.get(parts_key), parts_key)
    return [{**present(part), parent_column: parent["id"]} for part in parts]


def note_row(note: Record) -> Record:
    """A note with `contact_id` and `author_id` (the admin's details live in `admins`)."""
    row = present(note, ("contact", "author"))
    row["contact_id"] = (note.get("contact") or {}).get("id")
    row["author_id"] = (note.get("author") or {}).get("id")
    return row


def plain_row(record: Record) -> Record:
    """Rows of reference lists (admins, teams, tags ...): timestamps converted, nulls dropped."""
    return convert_timestamps(present(record))


def epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())


def contact_shape(custom_types: Mapping[str, TDataType]) -> RecordShape:
    """`contact_row` on the Arrow path."""
    return RecordShape(
        "contacts",
        TABLE_COLUMNS["contacts"],
        children=(ChildList("social_profiles", "data"),),
        dropped=frozenset(CONTACT_TRUNCATED_LISTS),
        custom_types=custom_types,
    )


def company_shape(custom_types: Mapping[str, TDataType]) -> RecordShape:
    """`company_row` on the Arrow path."""
    return RecordShape(
        "companies",
        TABLE_COLUMNS["companies"],
        children=(ChildList("tags", "tags"),),
        dropped=frozenset({"segments"}),
        custom_types=custom_types,
    )


def part_shape(table: str) -> RecordShape:
    """`part_rows` on the Arrow path (the parent's id column is added by the caller)."""
    return RecordShape(table, TABLE_COLUMNS[table], children=(ChildList("attachments"),), custom_key=None)
