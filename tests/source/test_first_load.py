"""A first load is appended straight into its tables (loads.py); the runs after it merge into them as ever."""

from __future__ import annotations

from tests.robustness.support import PART_CAP
from tests.source.conftest import Harness

CONVERSATIONS = ("conversations", "conversation_parts")


def staging_tables(harness: Harness) -> set[str]:
    rows = harness.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'intercom_data_staging'"
    )
    return {row[0] for row in rows}


def test_a_first_load_is_appended_and_the_next_run_merges_into_it_children_included(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(CONVERSATIONS)
    assert not {"conversations", "conversation_parts"} & staging_tables(harness), "loaded without staging"
    assert sorted(harness.ids("conversations")) == sorted(ws.conversations)
    [(parts, distinct)] = harness.query("SELECT count(*), count(DISTINCT id) FROM conversation_parts")
    served = sum(min(len(ws.conversation_parts(cid)), PART_CAP) for cid in ws.conversations)
    assert parts == distinct == served

    # the next run merges: a conversation loses its tags, another gets a part
    tagged = next(cid for cid, row in ws.conversations.items() if row["tags"]["tags"])
    talked = next(cid for cid in ws.conversations if cid != tagged)
    ws.clock.advance(60)
    ws.update_conversation(tagged, tags={"type": "tag.list", "tags": []}, title="untagged")
    new_part = ws.add_conversation_part(talked, body="after the first load")
    harness.run(CONVERSATIONS)

    assert "conversations" in staging_tables(harness), "merged through staging"
    assert sorted(harness.ids("conversations")) == sorted(ws.conversations)
    assert harness.query(f"SELECT title FROM conversations WHERE id = '{tagged}'") == [("untagged",)]
    # the appended load's child rows carry the root key the merge deletes them by
    assert harness.query(
        f"SELECT count(*) FROM conversations__tags t JOIN conversations c ON t._dlt_root_id = c._dlt_id"
        f" WHERE c.id = '{tagged}'"
    ) == [(0,)]
    assert harness.query("SELECT count(*) FROM conversations__tags WHERE _dlt_root_id IS NULL") == [(0,)]
    [(tags,)] = harness.query("SELECT count(*) FROM conversations__tags")
    assert tags == sum(len(row["tags"]["tags"]) for row in ws.conversations.values())
    talked_parts = harness.ids(f"conversation_parts WHERE conversation_id = '{talked}'")
    assert new_part in talked_parts
    assert sorted(talked_parts) == sorted(part["id"] for part in ws.conversation_parts(talked)[-PART_CAP:])
