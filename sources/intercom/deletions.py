"""Deletes: Intercom has no deletion feed, so gone contacts and companies are found by listing ids.

With `reconcile_deletes`, a run lists every live id (contacts: GET /contacts ids, 150 per call;
companies: the scroll the companies feed makes anyway) and compares them with the rows already in the
destination. A row whose id the API no longer returns (deleted, merged or archived: all 404 alike) is
written again as it is stored, with `deleted_at` set; its membership rows are emptied by the tombstones
the per-contact tables emit for it, since its sub-lists now answer 404.

Such a row travels through the feed as a *gone marker*: it carries no `updated_at`, so the incremental
cursor lets it through without moving (`on_cursor_value_missing="include"`), and the transformers know it
by `GONE_ROW`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.schema.typing import DEFAULT_VALIDITY_COLUMN_NAMES

from .records import Record

GONE_ROW = "_intercom_gone_row"
DELETED_AT = "deleted_at"
DELETED_AT_HINT: dict[str, Any] = {DELETED_AT: {"data_type": "timestamp", "nullable": True}}
_READ_BATCH = 500

logger = logging.getLogger("sources.intercom")


def is_gone(record: Record) -> bool:
    return GONE_ROW in record


def stored_row(marker: Record) -> Record:
    """The row a gone marker carries, as it will be written back (with `deleted_at`)."""
    row: Record = marker[GONE_ROW]
    return row


def gone_markers(table: str, live_ids: set[str]) -> Iterator[list[Record]]:
    """Markers for the rows of `table` in the destination whose ids are not in `live_ids`.

    Rows already marked deleted are left as they are. Nothing is yielded on a first run (no table yet).
    """
    stored = _stored_live_ids(table)
    gone = sorted(stored - live_ids)
    if gone:
        logger.info("%d %s no longer returned by the API: marking them deleted", len(gone), table)
    deleted_at = datetime.now(tz=UTC)
    for start in range(0, len(gone), _READ_BATCH):
        rows = _stored_rows(table, gone[start : start + _READ_BATCH])
        yield [{"id": row["id"], GONE_ROW: {**row, DELETED_AT: deleted_at}} for row in rows]


def _stored_live_ids(table: str) -> set[str]:
    sql = f"SELECT id FROM {{table}} WHERE {DELETED_AT} IS NULL{_current_versions(table)}"
    return {row[0] for row in _query(table, sql, ())}


def _stored_rows(table: str, ids: list[str]) -> list[Record]:
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"SELECT * FROM {{table}} WHERE id IN ({placeholders}){_current_versions(table)}"
    rows = _query(table, sql, tuple(ids), with_names=True)
    return [{key: value for key, value in row.items() if not key.startswith("_dlt_")} for row in rows]


def holds_rows(table: str) -> bool:
    """Whether the destination's copy of `table` holds a row; True also when the destination cannot say."""
    try:
        return bool(_query(table, "SELECT 1 FROM {table} LIMIT 1", ()))
    except Exception:  # noqa: BLE001 - the caller only skips work when a table is surely empty
        return True


def _current_versions(table: str) -> str:
    """In history mode (history.py) a table holds every version of a row: only the current one counts."""
    valid_to = DEFAULT_VALIDITY_COLUMN_NAMES[1]
    columns = dlt.current.source_schema().tables.get(table, {}).get("columns") or {}
    return f" AND {valid_to} IS NULL" if valid_to in columns else ""


_ONE_QUERY_AT_A_TIME = threading.Lock()
"""Feeds query the destination at the same time (a first load's `holds_rows`, the gone markers' stored ids),
and each `pipeline.sql_client()` may reload the pipeline's schema in place (dlt's `replace_schema_content`
empties it for a moment): a client built from it at that moment found no naming convention ("'NoneType'
object has no attribute 'max_length'", a CI run of the destinations tests)."""


def _query(table: str, sql: str, params: tuple[Any, ...], with_names: bool = False) -> list[Any]:
    """Runs `sql` on the destination's copy of `table`; [] when the table does not exist yet.

    The feeds are dlt parallelized resources: they run in dlt's pool threads, which share the main thread's
    configuration contexts with the extract itself, and opening a destination client there swaps them under
    it (`ContainerInjectableContextMangled`). A thread of our own has contexts of its own."""
    pipeline = dlt.current.pipeline()
    with _ONE_QUERY_AT_A_TIME, ThreadPoolExecutor(1, thread_name_prefix="intercom-destination") as own_thread:
        return own_thread.submit(_query_pipeline, pipeline, table, sql, params, with_names).result()


def _query_pipeline(
    pipeline: dlt.Pipeline, table: str, sql: str, params: tuple[Any, ...], with_names: bool
) -> list[Any]:
    try:
        with pipeline.sql_client() as client:
            if not client.has_dataset():
                return []
            qualified = client.make_qualified_table_name(table)
            with client.execute_query(sql.format(table=qualified), *params) as cursor:
                rows = cursor.fetchall()
                if not with_names:
                    return list(rows)
                names = [column[0] for column in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in rows]
    except Exception as exc:  # noqa: BLE001 - a missing table or column means nothing is stored yet
        if _is_missing_table(exc):
            return []
        raise


def _is_missing_table(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in ("does not exist", "not found", "no such table", "undefined"))
