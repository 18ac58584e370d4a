"""The source embedded as dlt users embed it: `pipeline.run(source)` with no other argument, any selection."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import dlt
import pytest

import sources.intercom as package
from sources.intercom import AuthenticationError, finish_interrupted_loads, intercom_source, table_row_counts
from sources.intercom.runs import check_access
from tests.robustness.support import assert_matches_workspace, mutate
from tests.source.conftest import TOKEN, Harness, start_harness

FEEDS = ("contact_changes", "company_changes", "ticket_changes")


def loaded_file_formats(load_info: dlt.common.pipeline.LoadInfo) -> dict[str, set[str]]:
    """Data table -> the formats of the files its rows were loaded from, over every package of a run (dlt's
    own tables and the `sql` jobs that merge staged rows are left out)."""
    formats: dict[str, set[str]] = {}
    for package_info in load_info.load_packages:
        for job in package_info.jobs["completed_jobs"]:
            table, file_format = job.job_file_info.table_name, job.job_file_info.file_format
            if not table.startswith("_dlt") and file_format != "sql":
                formats.setdefault(table, set()).add(file_format)
    return formats


def test_the_internal_feeds_are_not_resources_and_every_resource_is_selectable(harness: Harness) -> None:
    source = harness.source()
    assert not set(FEEDS) & set(source.resources)
    every = source.with_resources(*source.resources)
    assert set(every.selected_resources) == set(source.resources)


def test_selecting_every_resource_twice_gives_exact_tables(harness: Harness) -> None:
    """Every resource, the opt-in ones too, run after run: no feed becomes a table, nothing duplicates."""
    pipeline = harness.pipeline()
    for run in range(2):
        if run:
            mutate(harness, random.Random(10))
        source = harness.source()
        pipeline.run(source.with_resources(*source.resources))
        assert_matches_workspace(harness)
    tables = harness.tables()
    assert not set(FEEDS) & tables
    assert {"contact_segments", "data_events", "content_exports", "tickets", "ticket_parts"} <= tables
    segments = {(c, s) for c, s in harness.query("SELECT contact_id, segment_id FROM contact_segments")}
    ws = harness.workspace
    assert segments == {(c, s) for c in ws.contacts for s in ws.contact_segment_ids(c)}


def test_default_arguments_load_parquet_into_duckdb(harness: Harness) -> None:
    info = harness.pipeline().run(harness.source())
    formats = loaded_file_formats(info)
    assert {"contacts", "companies", "conversations", "conversation_parts", "admins"} <= set(formats)
    assert set().union(*formats.values()) == {"parquet"}, formats


def test_intercom_source_with_no_arguments_reads_its_config(
    harness: Harness, monkeypatch: object, tmp_path: Path
) -> None:
    """`intercom_source()` with nothing passed: token and base URL come from dlt's config (env here)."""
    monkeypatch.setenv("SOURCES__INTERCOM__ACCESS_TOKEN", TOKEN)  # type: ignore[attr-defined]
    monkeypatch.setenv("SOURCES__INTERCOM__BASE_URL", harness.server.base_url)  # type: ignore[attr-defined]
    pipeline = harness.pipeline()
    finish_interrupted_loads(pipeline)
    pipeline.run(intercom_source().with_resources("contacts", "admins"))
    counts = table_row_counts(pipeline)
    assert counts["contacts"] == len(harness.workspace.contacts)
    assert counts["admins"] == len(harness.workspace.admins)


def test_the_package_exports_its_run_helpers() -> None:
    for name in ("finish_interrupted_loads", "table_row_counts", "intercom_source"):
        assert name in package.__all__ and (getattr(package, name).__doc__ or "").strip()


def test_check_access_reaches_the_host_the_source_would(harness: Harness, monkeypatch: object) -> None:
    """`check_access` without region or base URL resolves them from dlt config, as `intercom_source` does."""
    monkeypatch.setenv("SOURCES__INTERCOM__BASE_URL", harness.server.base_url)  # type: ignore[attr-defined]
    harness.server.reset_counters()
    check_access(TOKEN)
    assert harness.server.counters["GET /me"] == 1
    with pytest.raises(AuthenticationError):
        check_access("not-the-token")


def extract_flush_sizes(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows in each write of contacts' row-path (jsonl) extract file, over a row-path extract of contacts."""
    from dlt.common.data_writers.buffered import BufferedDataWriter

    sizes: list[int] = []
    flush = BufferedDataWriter._flush_items

    def recording_flush(self: BufferedDataWriter, allow_empty_file: bool = False) -> None:
        if self.writer_spec.file_format == "typed-jsonl" and "contacts" in str(self._file_name):
            sizes.append(self._buffered_items_count)
        flush(self, allow_empty_file)

    monkeypatch.setattr(BufferedDataWriter, "_flush_items", recording_flush)
    harness.pipeline().extract(harness.source(("contacts",), arrow=False))
    return [size for size in sizes if size]


def test_the_extract_writes_rows_out_as_they_come_unless_the_user_configures_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The source's own default (settings.SOURCE_CONFIG_DEFAULTS) writes a table's rows out once 500 are held
    (an item's rows go together), where dlt holds 5,000 and wrote the last of them only after the last page;
    a user's setting wins."""
    harness, server = start_harness(tmp_path, contacts=1_200, companies=5, conversations=5, tickets=0)
    try:
        sizes = extract_flush_sizes(harness, monkeypatch)
        assert sum(sizes) == 1_200 and len(sizes) >= 2, sizes

        monkeypatch.setenv("SOURCES__INTERCOM__DATA_WRITER__BUFFER_MAX_ITEMS", "5000")
        first_run_again = replace(harness, pipeline_name="user_configured")
        assert extract_flush_sizes(first_run_again, monkeypatch) == [1_200]
    finally:
        server.stop()
