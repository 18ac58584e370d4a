"""data_events_scope: events of contacts whose `updated_at` did not move are read only with `all`."""

from __future__ import annotations

from tests.source.conftest import Harness

EVENTS_MAX_AGE = 90 * 86_400
TABLES = ("contacts", "data_events")


def recent_events(harness: Harness) -> set[str]:
    ws = harness.workspace
    horizon = ws.clock.now() - EVENTS_MAX_AGE
    return {
        event["id"]
        for contact_id in ws.contacts
        for event in ws.contact_events(contact_id)
        if event["created_at"] >= horizon
    }


def event_ids_of(harness: Harness, contact_id: str) -> set[str]:
    return {event["id"] for event in harness.workspace.contact_events(contact_id)}


def test_a_new_event_of_an_untouched_contact_is_loaded_only_with_scope_all(harness: Harness) -> None:
    ws, server = harness.workspace, harness.server
    harness.run(TABLES)
    assert set(harness.ids("data_events")) == recent_events(harness)

    ws.clock.advance(600)
    untouched = next(iter(ws.contacts))
    updated_at = ws.contacts[untouched]["updated_at"]
    before = event_ids_of(harness, untouched)
    ws.add_event(untouched, "invoice-paid")
    [new_event] = event_ids_of(harness, untouched) - before
    assert ws.contacts[untouched]["updated_at"] == updated_at, "tracking an event is no contact change"

    harness.run(TABLES)  # scope "changed": the contact did not change, its events are not read
    assert new_event not in harness.ids("data_events")

    server.reset_counters()
    harness.run(TABLES, data_events_scope="all")
    loaded = harness.ids("data_events")
    assert new_event in loaded
    assert set(loaded) == recent_events(harness)
    assert len(loaded) == len(set(loaded)), "events read again are merged on id, not duplicated"
    assert server.counters["GET /events"] >= len(ws.contacts), "one call per contact at least"
    assert server.counters["GET /contacts"] == -(-len(ws.contacts) // 150), "every contact id, 150 a page"
