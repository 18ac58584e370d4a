"""Rows that belong to a contact or a company (tags, companies, subscriptions, segments, notes).

They are replaced per parent: whenever a contact changes, everything stored for it in such a table is
deleted and its current rows inserted, so a removed tag disappears. On a dlt merge, a *tombstone* row per
parent does the deleting (the `_tombstone` column is a `hard_delete` hint on a `merge_key` of the parent
column); a parent whose list became empty is emptied too.

Contacts embed their tags, companies and subscriptions cut at 10 items (`has_more`); the embedded copy is
used when it is complete, and the contact's own endpoint is called only when it is not.

Each function takes the `endpoint` of the sub-list from its catalogue entry (`/contacts/{id}/tags`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .client import IntercomClient
from .deletions import is_gone
from .records import Record, convert_timestamps, note_row

TOMBSTONE = "_tombstone"
TOMBSTONE_HINT: dict[str, Any] = {TOMBSTONE: {"data_type": "bool", "hard_delete": True, "nullable": True}}

IdsOf = Callable[[str], list[str]]


def with_tombstones(
    parent_column: str, parent_ids: Iterable[str], rows: list[Record], key_column: str
) -> list[Record]:
    """`rows` preceded by one tombstone per parent, so that merging them replaces each parent's rows.

    A tombstone fills the table's other primary-key column (`key_column`) with a value unique to its
    parent: keys may not be null, and tombstones sharing a key would be deduplicated into one.
    """
    tombstones = [
        {parent_column: parent_id, key_column: f"tombstone:{parent_id}", TOMBSTONE: True}
        for parent_id in parent_ids
    ]
    return tombstones + rows


def complete_embedded_ids(parent: Record, key: str) -> list[str] | None:
    """Ids of an embedded list when it is complete; None when it was cut (`has_more`) or is missing."""
    embedded = parent.get(key)
    if not isinstance(embedded, dict):
        return None
    data = embedded.get("data") or []
    if embedded.get("has_more") or (embedded.get("total_count") or 0) > len(data):
        return None
    return [item["id"] for item in data]


def ids_by_parent(
    client: IntercomClient,
    parents: list[Record],
    embedded: Callable[[Record], list[str] | None],
    fetch: IdsOf,
) -> dict[str, list[str]]:
    """Each parent's ids from its embedded list, or fetched (concurrently) where that is incomplete.

    A parent that vanished before its list could be fetched (404) has no entry.
    """
    result: dict[str, list[str]] = {}
    missing: list[str] = []
    for parent in parents:
        if is_gone(parent):
            continue  # deleted: nothing to fetch, its tombstone empties its rows
        ids = embedded(parent)
        if ids is None:
            missing.append(parent["id"])
        else:
            result[parent["id"]] = ids
    for parent_id, ids in zip(missing, client.map_concurrently(fetch, missing), strict=True):
        if ids is not None:
            result[parent_id] = ids
    return result


def link_rows(
    client: IntercomClient,
    parents: list[Record],
    columns: tuple[str, str],
    embedded: Callable[[Record], list[str] | None],
    fetch: IdsOf,
) -> list[Record]:
    """`(parent_id, member_id)` rows of every parent, preceded by the parents' tombstones."""
    parent_column, member_column = columns
    ids = ids_by_parent(client, parents, embedded, fetch)
    rows = [
        {parent_column: parent, member_column: member}
        for parent, members in ids.items()
        for member in members
    ]
    return with_tombstones(parent_column, (parent["id"] for parent in parents), rows, member_column)


def contact_tag_rows(client: IntercomClient, contacts: list[Record], endpoint: str) -> list[Record]:
    def fetch(contact_id: str) -> list[str]:
        return [tag["id"] for tag in client.get_list(endpoint.format(id=contact_id), "data")]

    return link_rows(
        client, contacts, ("contact_id", "tag_id"), lambda c: complete_embedded_ids(c, "tags"), fetch
    )


def contact_company_rows(client: IntercomClient, contacts: list[Record], endpoint: str) -> list[Record]:
    def fetch(contact_id: str) -> list[str]:
        pages = client.numbered_pages(endpoint.format(id=contact_id), "data")
        return [company["id"] for page in pages for company in page]

    return link_rows(
        client, contacts, ("contact_id", "company_id"), lambda c: complete_embedded_ids(c, "companies"), fetch
    )


def contact_segment_rows(client: IntercomClient, contacts: list[Record], endpoint: str) -> list[Record]:
    """Contacts embed no segment list: one call per contact."""

    def fetch(contact_id: str) -> list[str]:
        return [segment["id"] for segment in client.get_list(endpoint.format(id=contact_id), "data")]

    return link_rows(client, contacts, ("contact_id", "segment_id"), lambda _: None, fetch)


def company_segment_rows(client: IntercomClient, companies: list[Record], endpoint: str) -> list[Record]:
    """From the company's embedded `segments` (complete), else GET /companies/{id}/segments."""

    def embedded(company: Record) -> list[str] | None:
        wrapper = company.get("segments")
        if not isinstance(wrapper, dict) or not isinstance(wrapper.get("segments"), list):
            return None
        return [segment["id"] for segment in wrapper["segments"]]

    def fetch(company_id: str) -> list[str]:
        return [segment["id"] for segment in client.get_list(endpoint.format(id=company_id), "data")]

    return link_rows(client, companies, ("company_id", "segment_id"), embedded, fetch)


def contact_subscription_rows(client: IntercomClient, contacts: list[Record], endpoint: str) -> list[Record]:
    """Explicit opt-ins and opt-outs: `(contact_id, subscription_type_id, consent_type)`.

    Embedded `opted_in_subscription_types` / `opted_out_subscription_types` give the state directly. When
    either is cut, GET /contacts/{id}/subscriptions lists opt-out types the contact opted out of and opt-in
    types it opted in to (the spec's description), so an item's own `consent_type` is the contact's choice.
    Subscriptions in their default state are not listed by the API and have no row.
    """
    states: dict[str, list[tuple[str, str]]] = {}
    missing: list[str] = []
    for contact in contacts:
        if is_gone(contact):
            continue
        opted_in = complete_embedded_ids(contact, "opted_in_subscription_types")
        opted_out = complete_embedded_ids(contact, "opted_out_subscription_types")
        if opted_in is None or opted_out is None:
            missing.append(contact["id"])
        else:
            states[contact["id"]] = [(i, "opt_in") for i in opted_in] + [(i, "opt_out") for i in opted_out]

    def fetch(contact_id: str) -> list[tuple[str, str]]:
        items = client.get_list(endpoint.format(id=contact_id), "data")
        return [(item["id"], item.get("consent_type") or "") for item in items]

    for contact_id, pairs in zip(missing, client.map_concurrently(fetch, missing), strict=True):
        if pairs is not None:
            states[contact_id] = pairs
    rows = [
        {"contact_id": contact_id, "subscription_type_id": type_id, "consent_type": consent}
        for contact_id, pairs in states.items()
        for type_id, consent in pairs
    ]
    return with_tombstones("contact_id", (c["id"] for c in contacts), rows, "subscription_type_id")


def note_rows(client: IntercomClient, contacts: list[Record], endpoint: str) -> list[Record]:
    """Notes of the given contacts, fetched only for contacts whose embedded list says they have any."""
    with_notes = [
        c["id"]
        for c in contacts
        if not is_gone(c) and ((c.get("notes") or {}).get("total_count", 1) or 0) > 0
    ]

    def fetch(contact_id: str) -> list[Record]:
        pages = client.numbered_pages(endpoint.format(id=contact_id), "data")
        return [note_row(convert_timestamps(note)) for page in pages for note in page]

    rows = [note for notes in client.map_concurrently(fetch, with_notes) if notes for note in notes]
    return with_tombstones("contact_id", (c["id"] for c in contacts), rows, "id")


def data_event_rows(client: IntercomClient, contacts: list[Record], endpoint: str) -> list[Record]:
    """Data events of the given contacts (the API lists only the last 90 days), merged on `id`."""

    def fetch(contact_id: str) -> list[Record]:
        params = {"type": "user", "intercom_user_id": contact_id}
        return [
            convert_timestamps(event)
            for page in client.link_pages(endpoint, "events", params)
            for event in page
        ]

    return [
        event
        for events in client.map_concurrently(fetch, [c["id"] for c in contacts])
        if events
        for event in events
    ]
