"""Every readable object: membership tables, notes, events, tickets, content and logs equal the workspace."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sources.intercom.client import IntercomClient
from sources.intercom.windows import time_windows
from tests.source.conftest import Harness

PART_CAP = 500
EVENTS_MAX_AGE = 90 * 86_400
OPT_IN_TABLES = ("contact_segments", "data_events")


def pairs(harness: Harness, table: str, *columns: str) -> set[tuple[Any, ...]]:
    return set(harness.query(f"SELECT {', '.join(columns)} FROM {table}"))


def truth_pairs(ws: Any, ids_of: Any) -> set[tuple[str, str]]:
    return {(cid, member) for cid in ws.contacts for member in ids_of(cid)}


def assert_catalogue_equals_workspace(harness: Harness) -> None:
    ws = harness.workspace
    assert pairs(harness, "contact_tags", "contact_id", "tag_id") == truth_pairs(ws, ws.contact_tag_ids)
    assert pairs(harness, "contact_companies", "contact_id", "company_id") == truth_pairs(
        ws, lambda cid: [c for c in ws.contact_company_ids(cid) if c in ws.companies]
    )
    assert pairs(harness, "contact_subscriptions", "contact_id", "subscription_type_id", "consent_type") == {
        (cid, sub, state) for cid in ws.contacts for sub, state in ws.contact_subscriptions(cid)
    }
    assert pairs(harness, "contact_segments", "contact_id", "segment_id") == truth_pairs(
        ws, ws.contact_segment_ids
    )
    assert pairs(harness, "company_segments", "company_id", "segment_id") == {
        (company, segment) for company in ws.companies for segment in ws.company_segment_ids(company)
    }
    assert pairs(harness, "notes", "id", "contact_id") == {
        (note["id"], cid) for cid in ws.contacts for note in ws.contact_notes(cid)
    }
    assert set(harness.ids("tickets")) == set(ws.tickets)
    assert set(harness.ids("ticket_parts")) == {
        part["id"] for ticket in ws.tickets for part in ws.ticket_parts(ticket)[-PART_CAP:]
    }
    for table in ("contact_tags", "contact_subscriptions", "notes", "company_segments"):
        assert harness.query(f"SELECT count(*) FROM {table} WHERE _tombstone") == [(0,)], table
    for table, member in (("contact_tags", "tag_id"), ("contact_companies", "company_id")):
        sql = f"SELECT contact_id, {member}, count(*) FROM {table} GROUP BY 1, 2 HAVING count(*) > 1"
        assert harness.query(sql) == [], table


def test_full_load_of_every_object(harness: Harness) -> None:
    ws = harness.workspace
    source = harness.source()
    for name in OPT_IN_TABLES:
        assert not source.resources[name].selected, f"{name} costs a call per contact: opt-in"
    harness.pipeline().run(
        source.with_resources(*[n for n, r in source.resources.items() if r.selected], *OPT_IN_TABLES)
    )
    assert_catalogue_equals_workspace(harness)
    now = ws.clock.now()
    recent_events = {
        event["id"]
        for cid in ws.contacts
        for event in ws.contact_events(cid)
        if event["created_at"] >= now - EVENTS_MAX_AGE
    }
    assert set(harness.ids("data_events")) == recent_events
    for table in ("ticket_types", "articles", "help_centers", "news_items", "newsfeeds", "admins", "teams"):
        assert set(harness.ids(table)) == set(getattr(ws, table)), table
    assert set(harness.ids("help_center_collections")) == set(ws.collections)
    assert set(harness.ids("admin_activity_logs")) == set(ws.activity_logs)
    heavy = [cid for cid in ws.contacts if len(ws.contact_tag_ids(cid)) > 10]
    assert heavy, "the workspace should have contacts with more than 10 tags"
    calls = harness.server.counters
    assert calls["GET /contacts/{id}/tags"] == len(heavy), "only truncated tag lists are fetched"
    with_notes = [cid for cid in ws.contacts if ws.contact_notes(cid)]
    assert calls["GET /contacts/{id}/notes"] == len(with_notes), (
        "notes are fetched only for contacts that have some"
    )
    assert calls["GET /contacts/{id}/segments"] == len(ws.contacts)
    assert calls.get("GET /companies/{id}/segments", 0) == 0, "companies embed their segments"
    assert calls.get("GET /tickets/{id}", 0) == 0, "ticket search embeds the parts"


def test_changes_make_every_table_exact_again(harness: Harness) -> None:
    ws = harness.workspace
    resources = (
        "contacts",
        "contact_tags",
        "contact_companies",
        "contact_subscriptions",
        "contact_segments",
        "notes",
        "companies",
        "company_segments",
        "tickets",
        "ticket_parts",
    )
    harness.run(resources)
    harness.server.reset_counters()
    ws.clock.advance(3600)
    contact_ids = list(ws.contacts)
    tagged = next(cid for cid in contact_ids if ws.contact_tag_ids(cid))
    for tag in ws.contact_tag_ids(tagged):
        ws.untag_contact(tagged, tag)  # every tag removed: its rows must all go
    heavy = next(cid for cid in contact_ids if len(ws.contact_tag_ids(cid)) > 11)
    ws.untag_contact(heavy, ws.contact_tag_ids(heavy)[0])
    with_company = next(cid for cid in contact_ids if ws.contact_company_ids(cid))
    ws.detach_company(with_company, ws.contact_company_ids(with_company)[0])
    opt_in_type = next(s for s, t in ws.subscription_types.items() if t["consent_type"] == "opt_in")
    subscriber = contact_ids[3]
    ws.set_subscription(subscriber, opt_in_type, "opt_in")
    ws.add_note(contact_ids[4], "<p>new note ✍️</p>")
    ticket = next(iter(ws.tickets))
    new_ticket_parts = [ws.add_ticket_part(ticket, body="<p>more</p>") for _ in range(2)]
    new_ticket = ws.create_ticket()
    harness.run(resources)
    assert_catalogue_equals_workspace(harness)
    assert harness.query(f"SELECT count(*) FROM contact_tags WHERE contact_id = '{tagged}'") == [(0,)]
    assert set(new_ticket_parts) <= set(harness.ids("ticket_parts"))
    assert new_ticket in harness.ids("tickets")
    changed_contacts = {tagged, heavy, with_company, subscriber, contact_ids[4]}
    calls = harness.server.counters
    assert calls["GET /contacts/{id}/segments"] == len(changed_contacts)
    cut_at_ten = [cid for cid in changed_contacts if len(ws.contact_tag_ids(cid)) > 10]
    assert heavy in cut_at_ten and calls["GET /contacts/{id}/tags"] == len(cut_at_ten)
    rows = harness.pipeline().last_trace.last_normalize_info.row_counts
    assert rows["contacts"] == len(changed_contacts)
    assert rows["tickets"] == 2


def test_a_contact_deleted_between_search_and_sub_list_is_skipped(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = harness.workspace
    gone = list(ws.contacts)[5]
    original_get_list = IntercomClient.get_list

    def delete_just_before(self: IntercomClient, path: str, *args: Any, **kwargs: Any) -> Any:
        if path == f"/contacts/{gone}/segments":
            ws.delete_contact(gone)
        return original_get_list(self, path, *args, **kwargs)

    monkeypatch.setattr(IntercomClient, "get_list", delete_just_before)
    harness.run(("contacts", "contact_segments"))
    segments = {contact for contact, _ in pairs(harness, "contact_segments", "contact_id", "segment_id")}
    assert gone not in segments and len(segments) > 1
    assert gone in harness.ids("contacts")  # it was listed before it vanished


@pytest.mark.parametrize("window_days", [30, 400])
def test_activity_logs_read_in_windows_cover_everything_once(harness: Harness, window_days: int) -> None:
    harness.run(("admin_activity_logs",), activity_log_window_days=window_days)
    ids = harness.ids("admin_activity_logs")
    assert sorted(ids) == sorted(harness.workspace.activity_logs)
    harness.server.reset_counters()
    newest = max(log["created_at"] for log in harness.workspace.activity_logs.values())
    harness.run(("admin_activity_logs",), activity_log_window_days=window_days)
    # only the windows from the cursor to the wall clock's now (the simulator's clock stands still)
    after_cursor = time_windows(newest, int(time.time()) + 60, window_days)
    assert harness.server.counters["GET /admins/activity_logs"] <= len(after_cursor)
    assert sorted(harness.ids("admin_activity_logs")) == sorted(harness.workspace.activity_logs)
