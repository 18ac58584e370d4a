"""The builder: binds a reader (readers.py) to each catalogue entry, parents first, as dlt resources.

As dlt's `rest_api.create_resources` does for its config: an entry with a parent becomes a transformer
fed by the parent's resource, an entry with a cursor gets its `dlt.sources.incremental` bound to the
reader's `cursor` argument. Internal feeds are built (their tables need them) but not returned.
"""

from __future__ import annotations

import functools
from typing import Any

import dlt
from dlt.sources import DltResource

from . import readers
from .arrow_pages import ROOT_TABLE_COLUMNS
from .catalogue import CATALOGUE, Entry
from .columns import TABLE_COLUMNS
from .deletions import DELETED_AT_HINT
from .history import HISTORY_TABLES, VersionIds, history_disposition
from .loads import WriteByRun, dedup_column, may_append_first_load
from .memberships import TOMBSTONE_HINT
from .progress import ApiUsageReporter
from .readers import Run
from .skips import skippable

READERS = {
    "search": readers.search,
    "scroll": readers.scroll,
    "table": readers.table,
    "children": readers.children,
    "parts": readers.parts,
    "reference": readers.reference,
    "logs": readers.logs,
    "exports": readers.exports,
    "attributes": readers.attributes,
    "every_parent": readers.every_parent,
}


def build_resources(run: Run) -> list[DltResource]:
    """The tables of the catalogue as resources reading through `run`, in catalogue order."""
    built: dict[str, DltResource] = {}
    for entry in CATALOGUE:
        built[entry.name] = bind(entry, run, built)
    usage = ApiUsageReporter(run.client)
    tables = []
    for entry in CATALOGUE:
        if entry.internal:
            continue  # dlt evaluates a feed once, as the parent of the tables selected from it
        resource = built[entry.name]
        resource.apply_hints(file_format=entry.file_format)
        if run.history and entry.name in HISTORY_TABLES:
            resource.apply_hints(write_disposition=history_disposition(entry.reconciled == entry.name))
            resource.add_map(VersionIds())
        elif may_append_first_load(entry) or dedup_column(entry):
            resource.add_step(WriteByRun(entry))
        resource.add_map(usage)
        tables.append(resource)
    return tables


def bind(entry: Entry, run: Run, built: dict[str, DltResource]) -> DltResource:
    """The resource (or transformer of its parent's resource) reading `entry`."""
    arguments: dict[str, Any] = {"run": run, "entry": entry}
    if entry.cursor is not None:
        arguments["cursor"] = incremental(entry, run)
    every_parent = run.reads_every_parent(entry)
    read = READERS["every_parent" if every_parent else entry.read]
    reader = functools.partial(skippable(read), **arguments)
    # dlt names and documents a resource after its function (no `__wrapped__`: dlt must see the partial)
    reader.__name__, reader.__qualname__, reader.__doc__ = entry.name, entry.name, read.__doc__  # type: ignore[attr-defined]
    reader.__module__ = read.__module__  # type: ignore[attr-defined]
    hints = resource_hints(entry)
    if entry.parent is None or every_parent:
        return dlt.resource(reader, parallelized=entry.parallelized, **hints)
    return dlt.transformer(reader, data_from=built[entry.parent], parallelized=entry.parallelized, **hints)


def incremental(entry: Entry, run: Run) -> dlt.sources.incremental[Any]:
    cursor = entry.cursor
    assert cursor is not None
    options: dict[str, Any] = {"initial_value": run.start, "end_value": run.end}
    if cursor.lookback is not None:
        options["lag"] = run.option(cursor.lookback)
    if cursor.row_order is not None:
        options["row_order"] = cursor.row_order
    if cursor.missing is not None:
        options["on_cursor_value_missing"] = cursor.missing
    return ForwardIncremental(cursor.field, **options)


class ForwardIncremental(dlt.sources.incremental[Any]):  # type: ignore[misc]
    """dlt's incremental, with a cursor that never moves back within a run.

    dlt 1.31 filters each kind of item with its own transform (one for Arrow tables, one for lists of
    dicts), each keeping its own last value, and stores the last value of whichever ran last. A feed
    yields Arrow pages, then gone markers (and row-path pages) as lists of dicts: the dicts' transform,
    which saw no newer row, put the cursor back where the run started while the pages' newer rows were
    loaded. After each batch this keeps the furthest last value of the transforms, with the boundary
    hashes of those at it.
    """

    def __call__(self, rows: Any, meta: Any = None) -> Any:
        result = super().__call__(rows, meta)
        transforms = [t for t in self._transformers.values() if t.last_value is not None]
        if len(transforms) < 2:
            return result
        furthest = self.last_value_func([t.last_value for t in transforms])
        state = self._cached_state
        if state.get("last_value") != furthest:
            state["last_value"] = self._current_last_value = furthest
            state["unique_hashes"] = list(self._boundary_hashes(transforms, furthest))
        return result

    def _boundary_hashes(self, transforms: list[Any], value: Any) -> set[str]:
        hashes: set[str] = set()
        for transform in transforms:
            if transform.last_value == value and transform.boundary_deduplication:
                hashes.update(transform.unique_hashes)
                legacy, key = transform.unique_hashes_legacy, self.primary_key
                hashes.update(transform.compute_unique_value(row, key, legacy) for row in transform.last_rows)
        return hashes


def resource_hints(entry: Entry) -> dict[str, Any]:
    """dlt's hints of the entry's table: keys, write disposition, typed columns."""
    hints: dict[str, Any] = {"name": entry.name, "primary_key": entry.primary_key, "selected": entry.selected}
    if entry.internal:
        return hints
    hints["write_disposition"] = entry.write_disposition
    if entry.merge_key is not None:
        hints["merge_key"] = entry.merge_key
    if entry.name in TABLE_COLUMNS:
        hints["columns"] = {
            **TABLE_COLUMNS[entry.name],
            **(TOMBSTONE_HINT if entry.tombstones else {}),
            **(DELETED_AT_HINT if entry.reconciled == entry.name else {}),
            **(ROOT_TABLE_COLUMNS if entry.shape.arrow else {}),
        }
    return hints
