"""Chunked backfills (sources/intercom/chunks.py): `load()` commits a long backfill as several load packages,
each with its rows and its cursor, and the tables end exact; a plain `pipeline.run` stays one package.

Slices are made small here (150 rows, slicing from 300) so that a thousand records make many chunks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from sources.intercom import settings
from sources.intercom.errors import ConfigurationError
from sources.intercom.runs import ChunkProgress, configured_chunk_rows, load
from sources.intercom.slices import ChunkLimit, Slice
from tests.robustness.support import (
    assert_no_duplicate_keys,
    assert_parts_loaded,
    committed_state,
    cursors,
    differences,
    loaded_updated_at,
    truth_updated_at,
)
from tests.source.conftest import Harness, start_harness

FEEDS = {"contacts": "contact_changes", "conversations": "conversations"}
"""Table -> the feed whose state holds its cursor."""
RESOURCES = ("contacts", "contact_tags", "conversations", "conversation_parts")


pytestmark = pytest.mark.usefixtures("small_slices")


@pytest.fixture
def big(tmp_path: Path) -> Iterator[Harness]:
    harness, server = start_harness(tmp_path, contacts=700, companies=10, conversations=500, tickets=0)
    server.knobs.update(search_timezone="America/New_York")
    try:
        yield harness
    finally:
        server.stop()


def chunked_load(harness: Harness, chunk_rows: int, **options: object) -> list[ChunkProgress]:
    chunks: list[ChunkProgress] = []
    source = harness.source(RESOURCES, **options)
    load(harness.pipeline(), source, models=None, chunk_rows=chunk_rows, on_chunk=chunks.append)
    return chunks


def assert_exact(harness: Harness) -> None:
    for table in FEEDS:
        drift = differences(loaded_updated_at(harness, table), truth_updated_at(harness, table))
        assert not drift, f"{table}: {drift}"
    assert_parts_loaded(harness, harness.workspace.conversations)
    assert_no_duplicate_keys(harness)


def test_a_chunked_backfill_commits_each_chunk_in_its_own_package_and_ends_exact(big: Harness) -> None:
    chunks = chunked_load(big, chunk_rows=200)

    assert_exact(big)
    loads = big.query("SELECT load_id FROM _dlt_loads WHERE status = 0 ORDER BY load_id")
    assert [load_id for (load_id,) in loads] == [chunk.load_id for chunk in chunks]
    assert len(big.pipeline().list_completed_load_packages()) == len(chunks) >= 3
    last = chunks[-1].feeds
    assert not any(more for _, _, more in last.values()), "the last chunk leaves nothing to read"
    assert last["conversations"][0] == 500, "rows read over all chunks"
    newest = {table: max(truth_updated_at(big, table).values()) for table in FEEDS}
    assert cursors(committed_state(big), FEEDS) == newest
    # a chunk's conversations and their parts are committed together
    apart = big.query(
        "SELECT count(*) FROM conversation_parts p JOIN conversations c ON c.id = p.conversation_id"
        " WHERE p._dlt_load_id <> c._dlt_load_id"
    )
    assert apart == [(0,)]
    per_chunk = big.query("SELECT count(DISTINCT _dlt_load_id) FROM conversations")
    assert per_chunk[0][0] >= 2, "conversations are spread over several packages"


def test_a_plain_pipeline_run_loads_everything_in_one_package(big: Harness) -> None:
    big.run(RESOURCES)
    assert_exact(big)
    assert len(big.pipeline().list_completed_load_packages()) == 1


def test_chunk_rows_zero_loads_everything_in_one_package(big: Harness) -> None:
    chunks: list[ChunkProgress] = []
    load(big.pipeline(), big.source(("conversations",)), models=None, chunk_rows=0, on_chunk=chunks.append)
    assert chunks == []
    assert set(big.ids("conversations")) == set(big.workspace.conversations)
    assert len(big.pipeline().list_completed_load_packages()) == 1


def test_with_reconcile_deletes_only_the_last_chunk_marks_rows_deleted(big: Harness) -> None:
    """400 contacts changed and 3 deleted since the last run: read in chunks, the deleted ones (and no
    other) are marked, and every contact id is listed once, by the last chunk."""
    ws = big.workspace
    big.run(("contacts",), reconcile_deletes=True)
    ws.clock.advance(86_400)
    contact_ids = sorted(ws.contacts)
    for number, contact_id in enumerate(contact_ids[:400]):
        ws.clock.advance(900)  # over four days: contact slices are whole days, and chunks are made of slices
        ws.update_contact(contact_id, name=f"Renamed {number}")
    deleted = contact_ids[-3:]
    for contact_id in deleted:
        ws.delete_contact(contact_id)
    big.server.reset_counters()

    chunks = chunked_load(big, chunk_rows=150, reconcile_deletes=True)

    contact_chunks = [chunk.feeds["contact_changes"] for chunk in chunks if "contact_changes" in chunk.feeds]
    assert len(contact_chunks) >= 2 and [more for _, _, more in contact_chunks][-1] is False, contact_chunks
    assert sum(rows for rows, _, _ in contact_chunks) >= 400
    marked = big.query("SELECT id FROM contacts WHERE deleted_at IS NOT NULL")
    assert sorted(row[0] for row in marked) == deleted
    live = big.query("SELECT id, name FROM contacts WHERE deleted_at IS NULL")
    assert dict(live) == {cid: contact["name"] for cid, contact in ws.contacts.items()}
    assert big.server.counters["GET /contacts"] == math.ceil(len(ws.contacts) / settings.PER_PAGE)


def test_the_chunk_size_comes_from_the_argument_then_the_config() -> None:
    assert configured_chunk_rows(None) == settings.BACKFILL_CHUNK_ROWS
    assert configured_chunk_rows(0) == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCES__INTERCOM__CHUNK_ROWS", "2500")
        assert configured_chunk_rows(None) == 2500
    with pytest.raises(ConfigurationError):
        configured_chunk_rows(-1)


def test_a_chunk_of_slices_holds_its_rows_and_reaches_past_the_cursor() -> None:
    limit = ChunkLimit(rows=300, beyond=1_000)
    below = [(Slice(0, 500), 200), (Slice(500, 1_001), 400)]
    assert limit.needs_more(below), "enough rows, but all of them may be loaded already"
    assert not limit.needs_more([*below, (Slice(1_001, 2_000), 10)])
    assert limit.needs_more([(Slice(2_000, 3_000), 100)]), "past the cursor but too few rows"
    assert not ChunkLimit(rows=300, beyond=None).needs_more([(Slice(0, 10), 300)])


def test_a_table_refused_in_a_chunked_load_is_reported_once_the_rest_loads_in_chunks(big: Harness) -> None:
    big.server.knobs.missing_permissions = frozenset({"GET /conversations/{id}"})
    chunks: list[ChunkProgress] = []
    source = big.source(("conversations", "conversation_parts"))
    result = load(big.pipeline(), source, models=None, chunk_rows=200, on_chunk=chunks.append)

    assert len(chunks) >= 2
    assert result.skipped == {"conversation_parts": "Read conversations"}
    assert set(big.ids("conversations")) == set(big.workspace.conversations)
    assert "conversation_parts" not in big.tables() or big.query(
        "SELECT count(*) FROM conversation_parts"
    ) == [(0,)]


def test_in_history_mode_each_contact_has_one_current_version_after_a_chunked_backfill(big: Harness) -> None:
    chunks: list[ChunkProgress] = []
    source = big.source(("contacts",), history=True)
    # contacts alone cost a request per page: chunks of one page's worth, 150 rows
    load(big.pipeline(), source, models=None, chunk_rows=1, on_chunk=chunks.append)

    assert len(chunks) >= 3
    versions = big.query("SELECT id, count(*), count(_dlt_valid_to) FROM contacts GROUP BY id")
    assert {row[0] for row in versions} == set(big.workspace.contacts)
    assert all(count == 1 and closed == 0 for _, count, closed in versions), "one open version each"
    valid_from = big.query("SELECT count(DISTINCT _dlt_valid_from) FROM contacts")
    assert valid_from[0][0] == len(chunks), "each chunk is a load of its own"


@pytest.mark.parametrize(
    ("resources", "chunk_rows", "chunked"),
    [
        (("contacts",), 200, False),  # 700 contacts, 5 search pages: under 200 pages, one package
        (("contacts",), 2, True),  # 2 pages' worth, 300 rows a chunk
        (("contacts", "contact_tags"), 200, True),  # a contact's tags may cost it a request: 200 rows
    ],
)
def test_chunk_rows_count_pages_for_a_feed_whose_tables_read_nothing_per_row(
    big: Harness, resources: tuple[str, ...], chunk_rows: int, chunked: bool
) -> None:
    """`chunk_rows` counts rows that may each cost a request; contacts loaded without any table read per
    contact cost a request per 150, so their chunks hold `chunk_rows` pages (200,000 contacts alone at
    500 ms took 241 s in 19 chunks of 10,000, 44 s in one). Either way the table ends exact."""
    chunks: list[ChunkProgress] = []
    load(big.pipeline(), big.source(resources), models=None, chunk_rows=chunk_rows, on_chunk=chunks.append)

    assert (len(chunks) >= 2) == chunked, [chunk.feeds for chunk in chunks]
    drift = differences(loaded_updated_at(big, "contacts"), truth_updated_at(big, "contacts"))
    assert not drift
    assert_no_duplicate_keys(big)
