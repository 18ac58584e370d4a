"""The core resources against the simulator over real HTTP, loaded into DuckDB."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.source.conftest import Harness

CORE_TABLES = ("contacts", "companies", "conversations", "conversation_parts")
SMALL_TABLES = {"admins": "admins", "teams": "teams", "tags": "tags", "segments": "segments"}
PART_CAP = 500


def newest_part_ids(harness: Harness, conversation_id: str) -> set[str]:
    return {part["id"] for part in harness.workspace.conversation_parts(conversation_id)[-PART_CAP:]}


def assert_no_duplicate_ids(harness: Harness, table: str) -> None:
    duplicates = harness.query(f"SELECT id, count(*) FROM {table} GROUP BY id HAVING count(*) > 1")
    assert duplicates == [], f"duplicate ids in {table}: {duplicates[:5]}"


def loaded_parts_by_conversation(harness: Harness) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for conversation_id, part_id in harness.query("SELECT conversation_id, id FROM conversation_parts"):
        parts.setdefault(conversation_id, set()).add(part_id)
    return parts


def assert_equals_workspace(harness: Harness) -> None:
    ws = harness.workspace
    assert set(harness.ids("contacts")) == set(ws.contacts)
    assert set(harness.ids("companies")) == set(ws.companies)
    assert set(harness.ids("conversations")) == set(ws.conversations)
    for table in CORE_TABLES:
        assert_no_duplicate_ids(harness, table)
    loaded = loaded_parts_by_conversation(harness)
    for conversation_id in ws.conversations:
        assert loaded.get(conversation_id, set()) == newest_part_ids(harness, conversation_id), (
            conversation_id
        )
    for contact_id, email, updated_at in harness.query("SELECT id, email, updated_at FROM contacts"):
        truth = ws.contacts[contact_id]
        assert email == truth["email"]
        assert updated_at == datetime.fromtimestamp(truth["updated_at"], tz=UTC)
    for company_id, name in harness.query("SELECT id, name FROM companies"):
        assert name == ws.companies[company_id]["name"]
    for conversation_id, state in harness.query("SELECT id, state FROM conversations"):
        assert state == ws.conversations[conversation_id]["state"]


def test_full_load_equals_the_workspace(harness: Harness) -> None:
    harness.run()
    ws = harness.workspace
    assert_equals_workspace(harness)
    for table, store in SMALL_TABLES.items():
        assert set(harness.ids(table)) == set(getattr(ws, store)), table
    assert set(harness.ids("subscription_types")) == set(ws.subscription_types)
    assert harness.query("SELECT count(*) FROM data_attributes")[0][0] == len(ws.data_attributes)
    assert harness.query("SELECT count(*) FROM (SELECT DISTINCT model, full_name FROM data_attributes)")[0][
        0
    ] == len(ws.data_attributes)


def test_table_shapes_children_and_timestamps(harness: Harness) -> None:
    harness.run()
    tables = harness.tables()
    assert {"conversations__contacts", "conversations__tags", "companies__tags"} <= tables
    # lists the API cuts at 10 are not loaded from the embedded copy
    assert not {"contacts__tags", "contacts__companies", "contacts__notes"} & tables
    types = dict(
        harness.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'intercom_data' AND table_name = 'contacts'"
        )
    )
    timestamp_columns = [name for name in types if name.endswith("_at") and not name.startswith("_dlt")]
    assert "updated_at" in timestamp_columns and "created_at" in timestamp_columns
    for name in timestamp_columns:
        assert types[name].startswith("TIMESTAMP"), (name, types[name])
    assert any(name.startswith("custom_attributes__") for name in types)
    part_columns = {
        row[0]
        for row in harness.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'intercom_data' AND table_name = 'conversation_parts'"
        )
    }
    assert "conversation_id" in part_columns
    assert not any(name.startswith("custom_attributes__") for name in part_columns), "parent hints leaked"
    assert any(name.startswith("location__") for name in types)
    conversation_contacts = harness.query(
        "SELECT count(*) FROM conversations__contacts c JOIN conversations p ON c._dlt_parent_id = p._dlt_id"
    )[0][0]
    truth = sum(len(conv["contacts"]["contacts"]) for conv in harness.workspace.conversations.values())
    assert conversation_contacts == truth


def test_truncated_conversations_are_visible_against_the_api_count(tmp_path) -> None:
    from tests.source.conftest import start_harness

    harness, server = start_harness(tmp_path, seed=11, contacts=20, companies=5, conversations=80)
    try:
        harness.run(("conversations", "conversation_parts"))
        truncated = harness.query(
            "SELECT c.id, c.statistics__count_conversation_parts, count(p.id) FROM conversations c "
            "JOIN conversation_parts p ON p.conversation_id = c.id GROUP BY 1, 2 "
            "HAVING c.statistics__count_conversation_parts > count(p.id)"
        )
        long_ones = [
            cid
            for cid in harness.workspace.conversations
            if len(harness.workspace.conversation_parts(cid)) > 500
        ]
        assert long_ones, "the workspace should contain conversations with more than 500 parts"
        assert {row[0] for row in truncated} == set(long_ones)
        assert all(row[2] == PART_CAP for row in truncated)
    finally:
        server.stop()


def search_and_detail_calls(harness: Harness) -> Counter[str]:
    return Counter({key: value for key, value in harness.server.counters.items() if value})


def test_second_run_loads_exactly_the_changes_with_the_promised_calls(harness: Harness) -> None:
    ws = harness.workspace
    harness.run()
    full_scroll_calls = harness.server.counters["GET /companies/scroll"]
    harness.server.reset_counters()
    ws.clock.advance(3600)
    changed_contacts = list(ws.contacts)[:3]
    for contact_id in changed_contacts:
        ws.update_contact(contact_id, name="Renamed ✓")
    new_contact = ws.create_contact(email="new@example.com", name="New Person")
    changed_company = next(iter(ws.companies))
    ws.update_company(changed_company, name="Renamed Co")
    conversations_with_new_parts = list(ws.conversations)[:2]
    new_parts = [ws.add_conversation_part(cid, body="<p>new</p>") for cid in conversations_with_new_parts]
    new_conversation = ws.create_conversation(contact_id=changed_contacts[0])

    info = harness.run()
    rows = harness.pipeline().last_trace.last_normalize_info.row_counts
    assert rows["contacts"] == len(changed_contacts) + 1
    assert rows["companies"] == 1
    assert rows["conversations"] == len(conversations_with_new_parts) + 1
    assert info.has_failed_jobs is False
    assert_equals_workspace(harness)
    assert set(new_parts) <= set(harness.ids("conversation_parts"))
    assert new_contact in harness.ids("contacts") and new_conversation in harness.ids("conversations")
    assert harness.query(f"SELECT name FROM companies WHERE id = '{changed_company}'") == [("Renamed Co",)]

    calls = search_and_detail_calls(harness)
    assert calls["POST /contacts/search"] == 1
    assert calls["POST /conversations/search"] == 1
    assert calls["GET /conversations/{id}"] == len(conversations_with_new_parts) + 1
    assert calls["GET /companies/scroll"] == full_scroll_calls  # no server-side filter: a full scan


def test_no_change_run_costs_one_call_per_incremental_resource(harness: Harness) -> None:
    harness.run()
    harness.server.reset_counters()
    harness.run()
    rows = harness.pipeline().last_trace.last_normalize_info.row_counts
    assert rows.get("contacts", 0) == 0 and rows.get("conversations", 0) == 0
    assert rows.get("companies", 0) == 0 and rows.get("conversation_parts", 0) == 0
    calls = search_and_detail_calls(harness)
    assert calls["POST /contacts/search"] == 1
    assert calls["POST /conversations/search"] == 1
    assert calls["GET /conversations/{id}"] == 0
    for path in ("GET /admins", "GET /teams", "GET /tags", "GET /segments", "GET /subscription_types"):
        assert calls[path] == 1, path
    assert calls["GET /data_attributes"] == 3


def test_contacts_updated_later_on_the_cursor_day_and_indexed_late_arrive(harness: Harness) -> None:
    ws = harness.workspace
    harness.server.knobs.search_lag_seconds = 300
    harness.run(("contacts",))
    cursor = max(contact["updated_at"] for contact in ws.contacts.values())
    ws.clock.set(cursor + 60)
    late = ws.create_contact(email="late@example.com")  # searchable only 5 minutes from now
    ws.clock.advance(30)
    same_day = next(cid for cid, contact in ws.contacts.items() if contact["updated_at"] < cursor)
    harness.run(("contacts",))  # the late contact is not in the index yet
    assert late not in harness.ids("contacts")
    ws.clock.advance(600)
    ws.update_contact(same_day, name="Updated later the same day")
    harness.run(("contacts",))
    ids = harness.ids("contacts")
    assert late in ids
    assert harness.query(f"SELECT name FROM contacts WHERE id = '{same_day}'") == [
        ("Updated later the same day",)
    ]
    assert_no_duplicate_ids(harness, "contacts")


def test_a_run_failing_mid_extract_then_rerun_ends_exact(harness: Harness) -> None:
    ws = harness.workspace
    harness.server.knobs.plan_restricted = frozenset({"GET /conversations/{id}"})
    with pytest.raises(Exception, match="403"):  # named, so not skipped: the run fails mid-extract
        harness.run(required_resources=["conversation_parts"])
    harness.server.knobs.plan_restricted = frozenset()
    ws.clock.advance(120)
    ws.update_contact(next(iter(ws.contacts)), name="Changed between runs")
    harness.run()
    assert_equals_workspace(harness)


def test_bounded_backfill_loads_only_the_window_and_keeps_the_cursor(harness: Harness) -> None:
    ws = harness.workspace
    stamps = sorted(contact["updated_at"] for contact in ws.contacts.values())
    start, end = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
    harness.run(
        ("contacts",),
        start_date=datetime.fromtimestamp(start, tz=UTC),
        end_date=datetime.fromtimestamp(end, tz=UTC),
    )
    expected = {cid for cid, c in ws.contacts.items() if start <= c["updated_at"] < end}
    assert set(harness.ids("contacts")) == expected
    harness.run(("contacts",))
    assert set(harness.ids("contacts")) == set(ws.contacts)
    assert_no_duplicate_ids(harness, "contacts")


def test_a_no_change_contacts_run_reads_only_the_lookback_not_the_whole_day(tmp_path) -> None:
    """Contact search matches whole days, but its pages are sorted to the second: newest first, reading
    stops at the first page reaching below (cursor - lookback), however many contacts the day holds."""
    from tests.source.conftest import start_harness

    harness, server = start_harness(tmp_path, contacts=400)
    try:
        ws = harness.workspace
        day_start = ws.clock.now() - ws.clock.now() % 86_400 + 86_400
        ws.clock.set(day_start + 3_600)
        for contact_id in list(ws.contacts)[:300]:  # 300 updates, two minutes apart: 10 hours of one day
            ws.update_contact(contact_id, name="Touched today")
            ws.clock.advance(120)
        harness.run(("contacts",))
        assert set(harness.ids("contacts")) == set(ws.contacts)
        harness.server.reset_counters()
        harness.run(("contacts",))
        rows = harness.pipeline().last_trace.last_normalize_info.row_counts
        assert rows.get("contacts", 0) == 0
        assert harness.server.counters["POST /contacts/search"] == 1  # 300 of today's contacts: 2 pages

        late = list(ws.contacts)[350]
        ws.update_contact(
            late, name="Updated 50 minutes before the cursor", updated_at=ws.clock.now() - 3_000
        )
        harness.server.reset_counters()
        harness.run(("contacts",))
        assert harness.query(f"SELECT name FROM contacts WHERE id = '{late}'") == [
            ("Updated 50 minutes before the cursor",)
        ]
        assert_no_duplicate_ids(harness, "contacts")
    finally:
        server.stop()
