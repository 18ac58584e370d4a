"""The fields the simulator gained to match the spec (issue 10, part 6), loaded by the source into DuckDB.

* `ticket` on every conversation, null as in every spec example: no column is made of it (a key that is only
  ever null carries nothing), and an object there, whose shape the spec does not document, would be
  flattened into `ticket__*` columns like any nested object.
* `statistics` on an article, which only `GET /articles/{id}` has (the list's items carry none,
  docs/simulator-contract.md): the source reads each article's own GET after the list, so `articles` has
  typed `statistics__*` columns.
* `newsfeed_assignments` of live news items (`newsfeed_id`, `published_at`): the child table
  `news_items__newsfeed_assignments`, typed.
* `applied_at` / `applied_by` on `GET /contacts/{id}/tags` and `pages.next: null` on the last page of notes,
  activity logs and events: the membership, note, activity-log and event tables stay exactly the workspace's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sources.intercom.columns import TABLE_COLUMNS
from tests.source.conftest import Harness


def column_types(harness: Harness, table: str) -> dict[str, str]:
    """`{column: DuckDB type}` of a loaded table."""
    return dict(
        harness.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = 'intercom_data' AND table_name = '{table}'"
        )
    )


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def test_the_null_ticket_of_conversations_makes_no_column(harness: Harness) -> None:
    ws = harness.workspace
    assert ws.conversations and all(conv["ticket"] is None for conv in ws.conversations.values())
    harness.run(("conversations",))
    columns = column_types(harness, "conversations")
    assert set(harness.ids("conversations")) == set(ws.conversations)
    assert not [column for column in columns if column == "ticket" or column.startswith("ticket__")]
    assert not [column for column in TABLE_COLUMNS["conversations"] if column.startswith("ticket")]
    assert columns["statistics__count_conversation_parts"] == "BIGINT"  # the rest of the row is as before


def test_a_ticket_object_on_a_conversation_is_flattened_into_typed_columns(harness: Harness) -> None:
    """Hypothetical: the spec shows `ticket` only as null. Were it an object, it would load as columns."""
    ws = harness.workspace
    conversation_id, ticket_id = next(iter(ws.conversations)), next(iter(ws.tickets))
    created = ws.tickets[ticket_id]["created_at"]
    ws.update_conversation(conversation_id, ticket={"type": "ticket", "id": ticket_id, "created_at": created})
    harness.run(("conversations",))
    columns = column_types(harness, "conversations")
    assert columns["ticket__type"] == "VARCHAR" and columns["ticket__id"] == "VARCHAR"
    assert columns["ticket__created_at"] == "TIMESTAMP WITH TIME ZONE"
    rows = {
        row[0]: row[1:]
        for row in harness.query("SELECT id, ticket__type, ticket__id, ticket__created_at FROM conversations")
    }
    assert rows[conversation_id] == ("ticket", ticket_id, at(created))
    others = {values for conv_id, values in rows.items() if conv_id != conversation_id}
    assert others == {(None, None, None)}


def test_articles_carry_their_statistics_from_each_articles_own_get(harness: Harness) -> None:
    ws = harness.workspace
    harness.server.reset_counters()
    harness.run(("articles",))
    assert harness.server.counters["GET /articles/{id}"] == len(ws.articles)
    columns = column_types(harness, "articles")
    assert columns["statistics__views"] == "BIGINT" == columns["statistics__conversations"]
    assert columns["statistics__happy_reaction_percentage"] == "DOUBLE"
    assert columns["parent_id"] == "BIGINT" and columns["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    loaded = {
        row[0]: row[1:]
        for row in harness.query(
            "SELECT id, statistics__views, statistics__conversations, statistics__reactions,"
            " statistics__happy_reaction_percentage FROM articles"
        )
    }
    assert loaded == {
        article_id: tuple(
            article["statistics"][key]
            for key in ("views", "conversations", "reactions", "happy_reaction_percentage")
        )
        for article_id, article in ws.articles.items()
    }


def test_newsfeed_assignments_of_news_items_load_typed(harness: Harness) -> None:
    ws = harness.workspace
    live = [item for item in ws.news_items.values() if item["state"] == "live"]
    assert live and all(item["newsfeed_assignments"] for item in live)
    harness.run(("news_items",))
    columns = column_types(harness, "news_items__newsfeed_assignments")
    assert columns["newsfeed_id"] == "BIGINT" and columns["published_at"] == "TIMESTAMP WITH TIME ZONE"
    loaded: dict[str, list[tuple[Any, ...]]] = {}
    for item_id, newsfeed_id, published_at in harness.query(
        "SELECT n.id, a.newsfeed_id, a.published_at FROM news_items n"
        " JOIN news_items__newsfeed_assignments a ON a._dlt_parent_id = n._dlt_id"
        " ORDER BY n.id, a._dlt_list_idx"
    ):
        loaded.setdefault(item_id, []).append((newsfeed_id, published_at))
    expected = {
        item["id"]: [(a["newsfeed_id"], at(a["published_at"])) for a in item["newsfeed_assignments"]]
        for item in ws.news_items.values()
        if item["newsfeed_assignments"]
    }
    assert loaded == expected
    assert set(harness.ids("news_items")) == set(ws.news_items)


def test_tag_applications_and_null_next_pages_leave_the_tables_exact(harness: Harness) -> None:
    ws = harness.workspace
    heavy = [cid for cid in ws.contacts if len(ws.contact_tag_ids(cid)) > 10]
    assert heavy, "the workspace has no contact whose tags GET /contacts/{id}/tags must complete"
    harness.run(("contacts", "contact_tags", "notes", "data_events", "admin_activity_logs"))
    tags: dict[str, set[str]] = {}
    for contact_id, tag_id in harness.query("SELECT contact_id, tag_id FROM contact_tags"):
        tags.setdefault(contact_id, set()).add(tag_id)
    for cid in ws.contacts:
        assert tags.get(cid, set()) == set(ws.contact_tag_ids(cid)), cid
    notes = harness.query("SELECT contact_id, id FROM notes")
    assert sorted(notes) == sorted((cid, n["id"]) for cid in ws.contacts for n in ws.contact_notes(cid))
    horizon = ws.clock.now() - 90 * 86_400  # GET /events lists the last 90 days
    events = {e["id"] for cid in ws.contacts for e in ws.contact_events(cid) if e["created_at"] >= horizon}
    assert set(harness.ids("data_events")) == events
    assert set(harness.ids("admin_activity_logs")) == set(ws.activity_logs)
