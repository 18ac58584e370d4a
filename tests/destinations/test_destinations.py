"""DuckDB, PostgreSQL and Parquet files hold the same tables after a full and an incremental load.

The simulator's workspace is the truth: key sets and values of the incremental tables, memberships,
parts and reference lists match it on every destination, no key appears twice, a removed tag's membership
row is gone, and a deleted contact keeps its row with `deleted_at` set and loses its memberships.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.destinations.conftest import DESTINATIONS, World
from tests.pg_cluster import LOADER_PASSWORD

PART_CAP = 500
"""The API returns the newest 500 parts of a conversation or a ticket."""
REFERENCE_TABLES = {
    "admins": "admins",
    "teams": "teams",
    "tags": "tags",
    "segments": "segments",
    "subscription_types": "subscription_types",
    "ticket_types": "ticket_types",
    "help_centers": "help_centers",
    "articles": "articles",
    "news_items": "news_items",
    "newsfeeds": "newsfeeds",
}
"""Replaced reference table -> the workspace's collection of the same objects."""


def data_tables(world: World) -> dict[str, dict[str, Any]]:
    """The source's data tables that hold columns (as the DuckDB pipeline's schema knows them)."""
    return {
        name: table
        for name, table in world.schema_tables.items()
        if not name.startswith("_dlt") and table.get("columns")
    }


def primary_key(table: dict[str, Any]) -> list[str]:
    return [name for name, column in table["columns"].items() if column.get("primary_key")]


def key_query(world: World, name: str) -> str:
    """Rows' identities: the primary key, or for a child table its parent's key and the list position."""
    table = data_tables(world)[name]
    key = primary_key(table)
    if key:
        return f"SELECT {', '.join(key)} FROM {name}"
    parent = table["parent"]
    parent_key = ", ".join(f"p.{column}" for column in primary_key(data_tables(world)[parent]))
    return (
        f"SELECT {parent_key}, c._dlt_list_idx FROM {name} c JOIN {parent} p ON c._dlt_parent_id = p._dlt_id"
    )


def keys(world: World, destination: str, name: str) -> list[tuple[Any, ...]]:
    return world.readers[destination].query(key_query(world, name))


def truth_keys(world: World) -> dict[str, set[tuple[Any, ...]]]:
    ws = world.workspace
    contacts = sorted(ws.contacts)
    return {
        "contacts": {(cid,) for cid in contacts} | {(world.edits.deleted_contact,)},
        "companies": {(company,) for company in ws.companies} | {(world.edits.deleted_company,)},
        "conversations": {(cid,) for cid in ws.conversations},
        "conversation_parts": {
            (part["id"],)
            for conversation in ws.conversations
            for part in ws.conversation_parts(conversation)[-PART_CAP:]
        },
        "tickets": {(tid,) for tid in ws.tickets},
        "ticket_parts": {(part["id"],) for tid in ws.tickets for part in ws.ticket_parts(tid)[-PART_CAP:]},
        "contact_tags": {(cid, tag) for cid in contacts for tag in ws.contact_tag_ids(cid)},
        "contact_companies": {(cid, company) for cid in contacts for company in ws.contact_company_ids(cid)},
        "contact_subscriptions": {
            (cid, subscription) for cid in contacts for subscription, _ in ws.contact_subscriptions(cid)
        },
        "notes": {(note["id"],) for cid in contacts for note in ws.contact_notes(cid)},
        "company_segments": {
            (company, segment) for company in ws.companies for segment in ws.company_segment_ids(company)
        },
        **{table: {(key,) for key in getattr(ws, attr)} for table, attr in REFERENCE_TABLES.items()},
    }


def test_every_destination_holds_every_table(world: World) -> None:
    expected = set(data_tables(world))
    for destination in DESTINATIONS:
        missing = expected - world.readers[destination].tables()
        assert not missing, f"{destination} lacks {sorted(missing)}"


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_no_key_appears_twice(world: World, destination: str) -> None:
    for name in data_tables(world):
        found = keys(world, destination, name)
        twice = [key for key, count in Counter(found).items() if count > 1][:3]
        assert not twice, f"{destination}.{name}: {twice} appear more than once"


def test_tables_and_keys_are_equal_across_destinations(world: World) -> None:
    for name in data_tables(world):
        by_destination = {
            destination: sorted(map(repr, keys(world, destination, name))) for destination in DESTINATIONS
        }
        assert by_destination["postgres"] == by_destination["duckdb"], f"{name}: postgres != duckdb"
        assert by_destination["filesystem"] == by_destination["duckdb"], f"{name}: filesystem != duckdb"


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_keys_match_the_workspace(world: World, destination: str) -> None:
    for name, expected in truth_keys(world).items():
        loaded = set(world.readers[destination].query(key_query(world, name)))
        missing, extra = sorted(expected - loaded)[:3], sorted(loaded - expected)[:3]
        assert not missing and not extra, f"{destination}.{name}: missing {missing}, extra {extra}"


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_values_match_the_workspace(world: World, destination: str) -> None:
    ws, reader = world.workspace, world.readers[destination]
    contacts = {
        row[0]: row[1:]
        for row in reader.query("SELECT id, name, email, updated_at FROM contacts WHERE deleted_at IS NULL")
    }
    assert contacts == {
        cid: (contact["name"], contact["email"], float(contact["updated_at"]))
        for cid, contact in ws.contacts.items()
    }
    companies = {
        row[0]: row[1:]
        for row in reader.query("SELECT id, name, updated_at FROM companies WHERE deleted_at IS NULL")
    }
    assert companies == {
        company_id: (company["name"], float(company["updated_at"]))
        for company_id, company in ws.companies.items()
    }
    for table in ("conversations", "tickets"):
        loaded = dict(reader.query(f"SELECT id, updated_at FROM {table}"))
        truth = {row_id: float(record["updated_at"]) for row_id, record in getattr(ws, table).items()}
        assert loaded == truth, table
    states = dict(reader.query("SELECT id, state FROM conversations"))
    assert states == {cid: conversation["state"] for cid, conversation in ws.conversations.items()}
    edits = world.edits
    assert reader.query(f"SELECT name FROM contacts WHERE id = '{edits.new_contact}'") == [("New Person",)]
    assert reader.query(f"SELECT name FROM companies WHERE id = '{edits.renamed_company}'") == [
        ("Renamed Co",)
    ]
    note_contact, note_id = edits.note
    assert reader.query(f"SELECT contact_id FROM notes WHERE id = '{note_id}'") == [(note_contact,)]
    conversation, part = edits.new_part
    assert reader.query(f"SELECT conversation_id FROM conversation_parts WHERE id = '{part}'") == [
        (conversation,)
    ]


def test_values_are_equal_across_destinations(world: World) -> None:
    queries = [
        "SELECT id, name, email, updated_at, created_at, deleted_at IS NULL FROM contacts",
        "SELECT id, name, updated_at, deleted_at IS NULL FROM companies",
        "SELECT id, state, updated_at, statistics__count_conversation_parts FROM conversations",
        "SELECT id, conversation_id, part_type, created_at FROM conversation_parts",
        "SELECT id, ticket_id, created_at FROM ticket_parts",
        "SELECT contact_id, tag_id FROM contact_tags",
        "SELECT id, name FROM tags",
    ]
    for query in queries:
        rows = {
            destination: sorted(map(repr, world.readers[destination].query(query)))
            for destination in DESTINATIONS
        }
        assert rows["postgres"] == rows["duckdb"], f"postgres != duckdb: {query}"
        assert rows["filesystem"] == rows["duckdb"], f"filesystem != duckdb: {query}"


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_removed_tag_is_gone_and_an_added_one_is_there(world: World, destination: str) -> None:
    reader = world.readers[destination]
    untagged, removed_tag = world.edits.untagged
    tagged, added_tag = world.edits.tagged
    tags_of = {
        cid: {row[0] for row in reader.query(f"SELECT tag_id FROM contact_tags WHERE contact_id = '{cid}'")}
        for cid in (untagged, tagged)
    }
    assert removed_tag not in tags_of[untagged]
    assert tags_of[untagged] == set(world.workspace.contact_tag_ids(untagged))
    assert added_tag in tags_of[tagged]
    for table in ("contact_tags", "contact_companies", "contact_subscriptions", "notes", "company_segments"):
        tombstones = reader.query(f"SELECT count(*) FROM {table} WHERE _tombstone IS NOT NULL")
        assert tombstones == [(0,)], f"{destination}.{table} keeps tombstone rows"


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_deleted_contact_and_company_get_deleted_at(world: World, destination: str) -> None:
    reader = world.readers[destination]
    gone, gone_company = world.edits.deleted_contact, world.edits.deleted_company
    assert reader.query("SELECT id FROM contacts WHERE deleted_at IS NOT NULL") == [(gone,)]
    assert reader.query("SELECT id FROM companies WHERE deleted_at IS NOT NULL") == [(gone_company,)]
    assert reader.query(f"SELECT email IS NOT NULL FROM contacts WHERE id = '{gone}'") == [(True,)]
    for table in ("contact_tags", "contact_companies", "contact_subscriptions", "notes"):
        assert reader.query(f"SELECT count(*) FROM {table} WHERE contact_id = '{gone}'") == [(0,)], table
    segments = reader.query(f"SELECT count(*) FROM company_segments WHERE company_id = '{gone_company}'")
    assert segments == [(0,)]


def test_the_password_is_in_no_output_and_no_state(world: World) -> None:
    assert all(LOADER_PASSWORD not in output for output in world.outputs)
    for folder in world.pipelines_dirs:
        for path in folder.rglob("*"):
            if path.is_file():
                assert LOADER_PASSWORD.encode() not in path.read_bytes(), path
