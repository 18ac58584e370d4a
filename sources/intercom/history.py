"""History mode: every version of contacts, companies and conversations, kept by dlt's `scd2` merge.

With `history=True` these tables (and their child tables, which dlt's scd2 keeps per version) get
`_dlt_valid_from` / `_dlt_valid_to`; the current version of a row has `_dlt_valid_to IS NULL`. Both are the
load's time (the load package's creation), not Intercom's `updated_at`: a version is valid from the run
that first saw it to the run that saw the next one.

Three things dlt 1.31's scd2 does not do by itself for an incremental source:

- It retires every current row absent from the load. An incremental run reads only changed rows, so the
  merge may retire only the rows whose ids it read (`destination_scope`).
- It identifies a version by `_dlt_id`, a hash of the row the row normalizer computes; the Arrow path
  gives its rows random ids. `VersionIds` sets `_dlt_id` on both paths to one hash of the row's content
  (without `_dlt_*` columns), the same whichever path a row takes, so a row re-read unchanged (the
  lookbacks, a bounded backfill) matches its current version and makes no new one.
- Deleted rows (`reconcile_deletes`, deletions.py) arrive as the stored row with `deleted_at` set; in
  history mode they close their current version and are not inserted (`source_filter`).

A table loaded in one mode cannot be merged in the other: `check_history_mode` stops the run instead.
"""

from __future__ import annotations

import calendar
import json
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

import dlt
from dlt.common.normalizers.json.helpers import DLT_ID_LENGTH_BYTES
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.schema.typing import DEFAULT_VALIDITY_COLUMN_NAMES, TScd2StrategyDict
from dlt.common.utils import digest128

from .arrow_pages import with_row_ids
from .deletions import DELETED_AT
from .errors import ConfigurationError
from .loads import table_is_new

HISTORY_TABLES: Final = ("contacts", "companies", "conversations")
VALID_FROM, VALID_TO = DEFAULT_VALIDITY_COLUMN_NAMES
ROW_HASH: Final = "_dlt_id"
"""dlt's scd2 default row version column: it must be `_dlt_id` for child rows to follow their version."""

_NAMING = NamingConvention()


def history_disposition(reconciled: bool) -> TScd2StrategyDict:
    """The scd2 write disposition of a history table; `reconciled`: it has a `deleted_at` column."""
    disposition: TScd2StrategyDict = {
        "disposition": "merge",
        "strategy": "scd2",
        # only the current versions of the ids this load read may be retired (not every absent row)
        "destination_scope": "id IN (SELECT id FROM {staging_table})",
    }
    if reconciled:
        # a deleted row's id is in the load, so its current version is retired; the row is not inserted
        disposition["source_filter"] = f"{DELETED_AT} IS NULL"
    return disposition


class VersionIds:
    """A map step of a history table: `_dlt_id` := the hash of the row's content, on both paths."""

    def __call__(self, item: Any) -> Any:
        if isinstance(item, dict):
            item[ROW_HASH] = version_id(item)
            return item
        return with_row_ids(item, ROW_HASH, flat_version_id)


def version_id(row: Mapping[str, Any]) -> str:
    """The hash of a row-path row as dlt will flatten it (nested objects as `parent__field` columns)."""
    return _digest(_flat(row, "", flattened=False))


def flat_version_id(row: Mapping[str, Any]) -> str:
    """The same hash of an Arrow-path row, already flattened under dlt's column names, its timestamps
    given as UTC microseconds (the canonical form of an instant, `_canonical`)."""
    return _digest(_flat(row, "", flattened=True))


def _digest(items: Iterator[tuple[str, Any]]) -> str:
    canonical = json.dumps(dict(items), sort_keys=True, default=str, separators=(",", ":"))
    return digest128(canonical, DLT_ID_LENGTH_BYTES)


def _flat(row: Mapping[str, Any], prefix: str, *, flattened: bool) -> Iterator[tuple[str, Any]]:
    """(column, value) of each value the row holds: nulls and empty lists hold nothing on either path,
    and Arrow rows come already flattened under dlt's column names."""
    for key, value in row.items():
        if not prefix and key.startswith("_dlt"):
            continue
        name = key if flattened else _NAMING.normalize_identifier(key)
        name = _NAMING.shorten_fragments(prefix, name) if prefix else name
        if isinstance(value, dict):
            yield from _flat(value, name, flattened=flattened)
            continue
        value = _canonical(value)
        if value is not None and value != []:
            yield name, value


def _canonical(value: Any) -> Any:
    """One form per value whichever path parsed it: instants as UTC microseconds, whole floats as ints
    (the Arrow path reads a number typed `double` as float where the JSON held an integer)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return calendar.timegm(moment.utctimetuple()) * 1_000_000 + moment.microsecond
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical_nested(item) for item in value]
    return value


def _canonical_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical_nested(item) for key, item in value.items() if item is not None}
    return _canonical(value)


def check_history_mode(table: str, history: bool) -> None:
    """Raises ConfigurationError when the destination's `table` was loaded in the other mode: merging
    versions into a plain table (or back) would leave stale or duplicate rows."""
    schema = dlt.current.source_schema()
    if table_is_new(schema, table):
        return  # not loaded yet
    loaded_with_history = VALID_FROM in schema.tables[table]["columns"]
    if loaded_with_history == history:
        return
    was, now = ("without", "with") if history else ("with", "without")
    raise ConfigurationError(
        f"The dataset's {table} table was loaded {was} history mode and cannot be loaded {now} it: use a"
        " new dataset (--dataset) or reload everything (--full-refresh)."
    )
