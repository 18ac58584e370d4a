"""reconcile_deletes: rows the API stopped returning get `deleted_at`, and their memberships go."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import dlt
from dlt.common.configuration.container import Container

from sources.intercom import deletions
from tests.source.conftest import Harness

RESOURCES = ("contacts", "contact_tags", "contact_companies", "notes", "companies", "company_segments")


def deleted(harness: Harness, table: str) -> dict[str, bool]:
    return {row_id: at is not None for row_id, at in harness.query(f"SELECT id, deleted_at FROM {table}")}


def test_deleted_archived_and_merged_contacts_and_deleted_companies_are_marked(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(RESOURCES, reconcile_deletes=True)
    assert not any(deleted(harness, "contacts").values())
    contact_ids = list(ws.contacts)
    tagged = [cid for cid in contact_ids if ws.contact_tag_ids(cid)]
    gone_deleted, gone_archived, gone_merged, survivor = tagged[0], tagged[1], tagged[2], tagged[3]
    ws.clock.advance(600)
    ws.delete_contact(gone_deleted)
    ws.archive_contact(gone_archived)
    ws.merge_contacts(gone_merged, survivor)
    gone_company = next(iter(ws.companies))
    ws.delete_company(gone_company)
    harness.server.reset_counters()

    harness.run(RESOURCES, reconcile_deletes=True)
    gone = {gone_deleted, gone_archived, gone_merged}
    flags = deleted(harness, "contacts")
    assert {cid for cid, is_deleted in flags.items() if is_deleted} == gone
    assert set(flags) == set(ws.contacts) | gone
    for table in ("contact_tags", "contact_companies", "notes"):
        owners = {row[0] for row in harness.query(f"SELECT contact_id FROM {table}")}
        assert not owners & gone, table
    assert {cid for cid, is_deleted in deleted(harness, "companies").items() if is_deleted} == {gone_company}
    assert harness.query(f"SELECT count(*) FROM company_segments WHERE company_id = '{gone_company}'") == [
        (0,)
    ]
    # deleted rows keep what was stored about them
    name = harness.query(f"SELECT email FROM contacts WHERE id = '{gone_deleted}'")[0][0]
    assert name is not None
    assert harness.server.counters["GET /contacts"] == -(-len(ws.contacts) // 150)
    assert harness.server.counters.get("GET /contacts/{id}/tags", 0) <= sum(
        1 for cid in ws.contacts if len(ws.contact_tag_ids(cid)) > 10
    ), "gone contacts' sub-lists are not fetched"

    marked_at = harness.query(f"SELECT deleted_at FROM contacts WHERE id = '{gone_deleted}'")
    harness.run(RESOURCES, reconcile_deletes=True)
    assert harness.query(f"SELECT deleted_at FROM contacts WHERE id = '{gone_deleted}'") == marked_at
    assert harness.query("SELECT count(*) FROM contacts")[0][0] == len(ws.contacts) + len(gone)


def test_without_reconcile_deleted_contacts_stay_unmarked(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(("contacts",))
    gone = next(iter(ws.contacts))
    ws.delete_contact(gone)
    harness.run(("contacts",))
    assert deleted(harness, "contacts")[gone] is False
    assert "GET /contacts" not in {k for k, v in harness.server.counters.items() if v}


def cursor_of(harness: Harness, feed: str) -> int:
    state = harness.pipeline().state["sources"]["intercom"]["resources"][feed]
    return int(state["incremental"]["updated_at"]["last_value"].timestamp())


def test_marking_deleted_rows_does_not_move_a_cursor_back(harness: Harness) -> None:
    """Gone markers (lists of dicts) follow the feed's Arrow pages through one incremental: its cursor
    still ends on the newest change, not where the run started (dlt keeps one last value per item type)."""
    ws = harness.workspace
    harness.run(RESOURCES, reconcile_deletes=True)
    ws.clock.advance(600)
    renamed_company, gone_company = sorted(ws.companies)[:2]
    ws.update_company(renamed_company, name="Renamed Co")
    ws.delete_company(gone_company)
    renamed_contact, gone_contact = sorted(ws.contacts)[:2]
    ws.update_contact(renamed_contact, name="Renamed")
    ws.delete_contact(gone_contact)
    harness.run(RESOURCES, reconcile_deletes=True)
    assert {cid for cid, is_deleted in deleted(harness, "companies").items() if is_deleted} == {gone_company}
    assert {cid for cid, is_deleted in deleted(harness, "contacts").items() if is_deleted} == {gone_contact}
    assert cursor_of(harness, "company_changes") == ws.companies[renamed_company]["updated_at"]
    assert cursor_of(harness, "contact_changes") == max(c["updated_at"] for c in ws.contacts.values())


def test_feeds_querying_the_destination_at_once_each_get_their_rows(tmp_path: Path) -> None:
    """Feeds ask the destination for stored rows at the same time (gone markers, a first load's check), and
    each `pipeline.sql_client()` may reload the pipeline's schema in place: unserialized, a query met it
    empty ("'NoneType' object has no attribute 'max_length'", as a CI run of the destinations tests did)."""
    pipeline = dlt.pipeline(
        "concurrent_queries",
        destination=dlt.destinations.duckdb(str(tmp_path / "queries.duckdb")),
        dataset_name="queries_data",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run([{"id": str(n)} for n in range(50)], table_name="contacts")
    pipeline.activate()
    errors: list[BaseException] = []
    counts: list[int] = []

    def query() -> None:
        try:
            for _ in range(10):
                counts.append(len(deletions._query("contacts", "SELECT id FROM {table}", ())))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    # named as dlt names its pool threads, which share the extract's contexts, as the feeds' threads do
    prefix = Container.thread_pool_prefix()
    threads = [threading.Thread(target=query, name=f"{prefix}{n}") for n in range(8)]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads swap often: a moment's inconsistency is met, not missed
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)
    assert not errors, errors[0]
    assert counts == [50] * 80
