"""Running the source: what the CLI does around `pipeline.run`, for library users too.

    import dlt
    from sources.intercom import finish_interrupted_loads, intercom_source, table_row_counts

    pipeline = dlt.pipeline("intercom", destination="duckdb", dataset_name="intercom_data")
    finish_interrupted_loads(pipeline)      # before every scheduled run
    pipeline.run(intercom_source())
    print(table_row_counts(pipeline))
    print(skipped_resources(pipeline))      # tables Intercom refused (403), skipped: a partial load

`load()` is that sequence (plus the Parquet copy of `filesystem`), `check_access()` and
`select_resources()` the checks the CLI makes before it creates anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
from dlt.common import logger
from dlt.sources import DltSource

from . import settings
from .catalogue import ENTRIES, descendants
from .chunks import Chunking, FeedChunk, armed
from .client import make_client
from .destinations import FILESYSTEM, publish_parquet
from .errors import ConfigurationError
from .models import ModelsReport, build_models, drop_models, views_block_drops
from .skips import SOURCE_NAME, skipped_resources


def check_access(access_token: str, region: str | None = None, base_url: str | None = None) -> None:
    """GET /me with the run's settings: a wrong token or region fails here, before any state exists.

    `region` and `base_url` not given resolve from dlt's config as the source's own do
    (`SOURCES__INTERCOM__REGION`, `[sources.intercom]` in .dlt/config.toml), so both reach the same host.
    """
    region = region or dlt.config.get("sources.intercom.region") or "us"
    base_url = base_url or dlt.config.get("sources.intercom.base_url")
    client = make_client(access_token, region, base_url, max_workers=1)  # one request
    try:
        client.me()
    finally:
        client.close()


def select_resources(source: DltSource, names: Sequence[str]) -> DltSource:
    """`source` with only the named resources selected; unknown names raise ConfigurationError."""
    wanted = [name.strip() for name in names if name.strip()]
    choices = list(source.resources)
    unknown = sorted(set(wanted) - set(choices))
    if unknown or not wanted:
        raise ConfigurationError(
            f"Unknown resource(s) {', '.join(unknown) or '(none given)'}; choose from: {', '.join(choices)}"
        )
    return source.with_resources(*wanted)


@dataclass
class LoadResult:
    pipeline: dlt.Pipeline
    """The pipeline holding the tables (with `filesystem`, the Parquet files' own)."""
    row_counts: dict[str, int]
    models: ModelsReport | None
    """What `build_models` built and left out; None when models were not asked for."""
    skipped: dict[str, str]
    """Tables skipped because Intercom refused them (403) -> the app permission each needs; empty unless
    the load is partial (skips.py)."""


def load(
    pipeline: dlt.Pipeline,
    source: DltSource,
    *,
    full_refresh: bool = False,
    destination: str | None = None,
    models: str | None = "view",
    chunk_rows: int | None = None,
    on_chunk: Callable[[ChunkProgress], None] | None = None,
) -> LoadResult:
    """Finishes what an earlier run left, runs `source`, builds the analytics models (`models`: "view",
    "table" or None for none), counts the rows and lists the tables Intercom refused and the run skipped
    (`skipped`). With `destination="filesystem"` the pipeline loads into
    DuckDB, the models are built there, and the tables are then published as Parquet files
    (destinations.py).

    A backfill of more than `chunk_rows` rows of a search feed (contacts, conversations, tickets) is
    loaded in chunks, one load package each, committing the feed's rows with its cursor (chunks.py): a run
    killed midway resumes from its last chunk. `chunk_rows` None takes `chunk_rows` from
    `[sources.intercom]` config, else `settings.BACKFILL_CHUNK_ROWS`; 0 loads everything in one package.
    `on_chunk` is told about each chunk committed when a load takes more than one.

    Where views bind to their tables (PostgreSQL), the models are dropped before the load, so that a full
    refresh or a replace can drop tables, and built again after it, also when the load fails."""
    chunk_rows = configured_chunk_rows(chunk_rows)  # bad input fails before anything is settled
    finish_interrupted_loads(pipeline)
    rebuild_after_failure = (
        bool(models) and bool(pipeline.default_schema_name) and views_block_drops(pipeline)
    )
    if rebuild_after_failure:
        drop_models(pipeline)
    refresh = "drop_sources" if full_refresh else None
    try:
        skipped = run_in_chunks(pipeline, source, chunk_rows, refresh, on_chunk)
    except Exception:
        if rebuild_after_failure:
            _rebuild_quietly(pipeline, models)
        raise
    report = build_models(pipeline, models) if models else None
    if destination == FILESYSTEM:
        pipeline = publish_parquet(pipeline)
    return LoadResult(pipeline, table_row_counts(pipeline), report, skipped)


def configured_chunk_rows(chunk_rows: int | None) -> int:
    """`chunk_rows` as given, else from `[sources.intercom]` config, else the default; 0 is off."""
    if chunk_rows is None:
        configured = dlt.config.get("sources.intercom.chunk_rows")
        chunk_rows = settings.BACKFILL_CHUNK_ROWS if configured is None else int(configured)
    if chunk_rows < 0:
        raise ConfigurationError(f"chunk_rows must be 0 (off) or a number of rows, not {chunk_rows}.")
    return chunk_rows


@dataclass(frozen=True)
class ChunkProgress:
    """A committed chunk of a chunked load: its number, and per feed the rows read by the chunks so far,
    its cursor (newest `updated_at` committed) and whether it has more to read."""

    number: int
    load_id: str
    feeds: dict[str, tuple[int, Any, bool]]

    def line(self) -> str:
        feeds = "; ".join(
            f"{feed_table(feed)} {rows:,} rows, up to {cursor or '-'} ({'more to read' if more else 'done'})"
            for feed, (rows, cursor, more) in self.feeds.items()
        )
        return f"chunk {self.number} committed (load {self.load_id}): {feeds}"


def feed_table(feed: str) -> str:
    """The table a feed is known by: itself, or for an internal feed the table of its records."""
    if not ENTRIES[feed].internal:
        return feed
    return next(entry.name for entry in descendants(feed) if entry.read == "table")


def run_in_chunks(
    pipeline: dlt.Pipeline,
    source: DltSource,
    chunk_rows: int,
    refresh: str | None,
    on_chunk: Callable[[ChunkProgress], None] | None,
) -> dict[str, str]:
    """Runs `source`, then again for the feeds that stopped at a chunk's end (and the tables read from
    them), until none stops; returns the tables skipped by any of the runs (skips.py)."""
    if chunk_rows == 0:
        pipeline.run(source, refresh=refresh)
        return skipped_resources(pipeline)
    skipped: dict[str, str] = {}
    rows: dict[str, int] = {}
    cursors = {} if refresh else _cursors(pipeline)
    running, number = source, 0
    with armed(pipeline, chunk_rows) as chunking:
        while True:
            info = pipeline.run(running, refresh=refresh if number == 0 else None)
            number += 1
            skipped.update(skipped_resources(pipeline))
            read = chunking.take()
            more = _feeds_with_more(pipeline, read, cursors, chunking)
            for feed, chunk in read.items():
                rows[feed] = rows.get(feed, 0) + chunk.rows
            if number > 1 or more:
                load_id = info.loads_ids[-1] if info.loads_ids else "-"
                feeds = {feed: (rows[feed], cursors.get(feed), feed in more) for feed in rows}
                _report(ChunkProgress(number, load_id, feeds), on_chunk)
            # a table refused (403) in this load is not asked for again by its later chunks
            wanted = [name for name in read_from(source, more) if name not in skipped]
            if not wanted:
                return skipped
            running = source.with_resources(*wanted)


def _report(progress: ChunkProgress, on_chunk: Callable[[ChunkProgress], None] | None) -> None:
    logger.info(progress.line())
    if on_chunk is not None:
        on_chunk(progress)


def _feeds_with_more(
    pipeline: dlt.Pipeline, read: dict[str, FeedChunk], cursors: dict[str, Any], chunking: Chunking
) -> list[str]:
    """The feeds that stopped at a chunk's end; `cursors` updated to what the chunk committed. A feed
    whose chunk could not move its cursor is read whole from now on rather than chunked forever."""
    committed = _cursors(pipeline)
    more = []
    for feed, chunk in read.items():
        if chunk.more and committed.get(feed) == cursors.get(feed):
            logger.warning(f"{feed}: a chunk did not move its cursor; the rest is read in one run")
            chunking.whole.add(feed)
        cursors[feed] = committed.get(feed)
        if chunk.more:
            more.append(feed)
    return more


def read_from(source: DltSource, feeds: Sequence[str]) -> list[str]:
    """The selected resources of `source` read from one of `feeds` (the feed itself if it is a table)."""
    parents = {child: parent for parent, child in source.resources.selected_dag if parent != child}

    def root(name: str) -> str:
        while name in parents:
            name = parents[name]
        return name

    return [name for name in source.selected_resources if root(name) in feeds]


def _cursors(pipeline: dlt.Pipeline) -> dict[str, Any]:
    """Each resource's `updated_at` cursor in the pipeline's state."""
    resources = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    return {
        name: state["incremental"]["updated_at"].get("last_value")
        for name, state in resources.items()
        if "updated_at" in state.get("incremental", {})
    }


def _rebuild_quietly(pipeline: dlt.Pipeline, materialization: str | None) -> None:
    """After a failed load: the models back over what the tables hold; the load's error is what matters."""
    try:
        build_models(pipeline, materialization or "view")
    except Exception as exc:  # noqa: BLE001 - the load's own error is raised by the caller
        logger.warning(f"analytics models not rebuilt after the failed load: {exc}")


def finish_interrupted_loads(pipeline: dlt.Pipeline) -> None:
    """Settles what a killed or failed earlier run left, so that this run also loads the new changes.

    Call it before `pipeline.run(intercom_source())` on a schedule. dlt's `run()` would load a pending
    package and stop, leaving every change made since for the run after. A package cut off while a load
    job ran is aborted instead of resumed: the destination may have committed that job, and dlt would run
    it again, loading its rows twice (merged tables with child tables keep both copies). Aborting rewinds
    the local state to before the package, so the extract that follows reads those changes again.
    """
    drop_unfinished_schema_saves(pipeline)
    drop_extracted_copies_of_normalized_packages(pipeline)
    if not pipeline.has_pending_data:
        return
    plan = pipeline.abort_packages(dry_run=True)
    interrupted = plan["package_to_abort"] if plan else None
    if interrupted and interrupted["interrupted_jobs"]:
        logger.warning("an earlier run was cut off while loading; its changes are read again")
        pipeline.abort_packages()
    if pipeline.has_pending_data:
        logger.warning("loading what an earlier run left pending, then the new changes")
        pipeline.run()


UNFINISHED_SAVE = re.compile(r"[0-9a-f]{16}")
"""The name of the file dlt writes a schema to before renaming it into place (`FileStorage.save_atomic`)."""


def drop_unfinished_schema_saves(pipeline: dlt.Pipeline) -> None:
    """Deletes the temporary file of a schema save that a kill cut off before its rename.

    dlt lists every file of the pipeline's schema folder as a schema: such a file (`0421f33c9f44b33f`) made
    every later run fail at `sync` with "InvalidSchemaName". The schema it was replacing is still there,
    whole, under its own name.
    """
    for path in (Path(pipeline.working_dir) / "schemas").glob("*"):
        if UNFINISHED_SAVE.fullmatch(path.name):
            logger.warning(f"removing {path.name}, a schema save an earlier run did not finish")
            path.unlink()


def drop_extracted_copies_of_normalized_packages(pipeline: dlt.Pipeline) -> None:
    """Deletes what is left of an extracted package that dlt had already normalized.

    dlt's normalize moves the normalized package into place, then deletes the extracted one file by file.
    A kill during that deletion leaves the extracted package (whole or in part) beside its normalized
    copy: dlt would normalize it again on every later run and fail each time (the normalized package is
    in the way, or the half-deleted one lacks its schema). The normalized or loaded copy is complete (it
    was moved into place in one rename), so the leftover holds nothing to keep.
    """
    normalized = set(pipeline.list_normalized_load_packages()) | set(pipeline.list_completed_load_packages())
    leftovers = [load_id for load_id in pipeline.list_extracted_load_packages() if load_id in normalized]
    if not leftovers:
        return
    storage = pipeline._get_normalize_storage()  # dlt has no public call that deletes one extracted package
    for load_id in leftovers:
        logger.warning(f"removing the leftover extracted copy of package {load_id}, normalized already")
        storage.extracted_packages.delete_package(load_id)


def table_row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per data table of the pipeline's schema, as the destination holds them."""
    counts: dict[str, int] = {}
    schema = pipeline.default_schema
    with pipeline.sql_client() as client:
        for table in sorted(schema.data_table_names()):
            if not schema.tables[table].get("columns"):
                continue
            rows = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")
            counts[table] = int(rows[0][0])
    return counts
