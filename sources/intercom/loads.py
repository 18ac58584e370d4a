"""How a merged table is written in a run: straight into a table the destination does not hold yet, and
through dlt's merge otherwise, where the newest version of a row read twice wins.

**The newest version wins.** A row updated while a run reads can be read twice in that run, in two
versions: an ascending search reaches it again at its new `updated_at`, a sliced search reads it in an
earlier slice and again in a later one, the companies scroll restarts. dlt's merge keeps one row per
primary key, and without a `dedup_sort` hint an arbitrary one. Were it the older, the update would be lost
for good: the cursor has passed the newer `updated_at`, so the next run drops the re-read as unchanged
(`RecentRows`). Every merged table with an `updated_at` column therefore sorts its duplicates by it,
newest first (`dedup_sort: "desc"`, honoured by dlt's SQL merge on every SQL destination, so DuckDB,
PostgreSQL and the DuckDB that `filesystem` is published from).

**A first load is appended.** dlt's merge (delete-insert) copies the run's rows into a staging table, numbers
the rows of each key (a window over every column) and then deletes and inserts in the dataset. Into a
table that holds nothing there is nothing to delete, and the numbering is most of the load: 134,696
conversation parts took 2.1 s through the merge and 0.4 s appended (DuckDB at 64 MB, one thread). So a
table absent from the pipeline's schema (never loaded, or dropped by a full refresh) and holding no row
in the destination (another pipeline may have loaded the dataset) is written with `append` in its first
run, straight from its files. The step still tracks the keys of that run: the first key read twice
turns the table back to `merge` (with its `dedup_sort`) for the whole run, since dlt takes a table's write
disposition for its load from the package's schema, which is written when the whole extract is done.

The choice is made at the first item of each extract and sent as hints with it (`dlt.mark.with_hints`),
so a source run twice decides twice. The root key (`_dlt_root_id`)
that a merge needs in the table's child tables is declared for an appended table too: the next run
merges into it and deletes child rows by that key.
"""

from __future__ import annotations

from typing import Any, Final

import dlt
from dlt.common.normalizers.json.relational import DataItemNormalizer
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.extract.hints import HintsMeta
from dlt.extract.items_transform import ItemTransform

from .arrow_pages import current_load_id, key_values
from .catalogue import Entry
from .columns import TABLE_COLUMNS
from .deletions import holds_rows

DEDUP_COLUMN: Final = "updated_at"
ROW_KEY, ROOT_KEY = "_dlt_id", "_dlt_root_id"


def dedup_column(entry: Entry) -> str | None:
    """The column whose newest value wins among one key's rows in a run, for a merged table with one."""
    if entry.write_disposition != "merge" or entry.tombstones:
        return None
    return DEDUP_COLUMN if DEDUP_COLUMN in TABLE_COLUMNS.get(entry.name, {}) else None


def may_append_first_load(entry: Entry) -> bool:
    """Whether the table's first load may skip the merge: one row per primary key and nothing else to
    merge on (link tables merge on their parent's key and delete by their tombstones)."""
    return entry.write_disposition == "merge" and entry.merge_key is None and not entry.tombstones


class WriteByRun(ItemTransform[Any, dict[str, Any]]):
    """A step of a merged table's resource: appends its first load (while every key is read once) and
    merges with the newest version winning otherwise.

    dlt binds each step to the copy of the pipe it extracts from, once per extract: `bind` hands it a
    fresh step, so what one run records (its keys) lives as long as that extract, not through the load."""

    placement_affinity = 1.0  # after the maps (its hints must reach the extractor), before a fork (2)

    def __init__(self, entry: Entry) -> None:
        super().__init__(lambda item: item)
        self._entry = entry
        self._keys = keys_of(entry)
        self._dedup = dedup_column(entry)
        self._load_id: str | None = None
        self._appending = False
        self._seen: set[int] = set()
        """Hashes of the keys read while appending: a collision only makes the table merge."""

    def bind(self, pipe: Any) -> WriteByRun:
        return WriteByRun(self._entry)

    def __call__(self, item: Any, meta: Any = None) -> Any:
        try:
            load_id = current_load_id()
        except CurrentLoadPackageStateNotAvailable:
            return item  # iterated outside a pipeline: nothing is loaded
        if load_id != self._load_id:  # the first item of this run (bind makes a fresh step for each)
            self._load_id, self._seen = load_id, set()
            return self._start(item, meta)
        if self._appending and self._read_twice(item):
            self._appending, self._seen = False, set()  # merged from now on: no keys needed
            return self._with_hints(item, meta, "merge")
        return item

    def _start(self, item: Any, meta: Any) -> Any:
        schema, table = dlt.current.source_schema(), self._entry.name
        self._appending = (
            may_append_first_load(self._entry) and table_is_new(schema, table) and not holds_rows(table)
        )
        if self._appending:
            declare_root_key(schema, table)
            if self._read_twice(item):
                self._appending, self._seen = False, set()
        return self._with_hints(item, meta, "append" if self._appending else "merge")

    def _read_twice(self, item: Any) -> bool:
        """Records the item's keys; True when one was read before in this extract (or twice in the item)."""
        seen, before = self._seen, len(self._seen)
        hashes = [hash(key) for key in key_values(item, self._keys)]
        seen.update(hashes)
        return len(seen) - before < len(hashes)

    def _with_hints(self, item: Any, meta: Any, disposition: str) -> Any:
        columns: dict[str, Any] = {}
        if isinstance(meta, HintsMeta):  # keep the hints the reader sent (custom attribute columns)
            columns.update(meta.hints.get("original_columns") or {})
        if disposition == "merge" and self._dedup:
            columns[self._dedup] = {**columns.get(self._dedup, {}), "name": self._dedup, "dedup_sort": "desc"}
        hints = dlt.mark.make_hints(write_disposition=disposition, columns=columns or None)  # type: ignore[arg-type]
        return dlt.mark.with_hints(item, hints)


def table_is_new(schema: Any, table: str) -> bool:
    """Whether the pipeline's schema holds no loaded column of `table`: it was never loaded (or dropped)."""
    columns = schema.tables.get(table, {}).get("columns") or {}
    return not any(column.get("data_type") for column in columns.values())


def declare_root_key(schema: Any, table: str) -> None:
    """Propagates the table's row key to its child tables as their root key, as dlt does for a merged table,
    so that the later merges find the child rows of this appended load."""
    DataItemNormalizer.update_normalizer_config(
        schema,
        {"propagation": {"tables": {table: {ROW_KEY: ROOT_KEY}}}},  # type: ignore[dict-item]
    )


def keys_of(entry: Entry) -> tuple[str, ...]:
    return (entry.primary_key,) if isinstance(entry.primary_key, str) else tuple(entry.primary_key)
