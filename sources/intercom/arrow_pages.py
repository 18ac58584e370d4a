"""The Arrow path of the big tables: response bodies parsed straight into typed Arrow tables.

dlt's row normalizer (a Python dict per row and per child row) is what bounds a load of contacts, companies
and conversation parts (BENCHMARKS.md). On this path a page's JSON body is parsed by pyarrow's JSON reader,
typed from the spec (`TABLE_COLUMNS`) and from the workspace's data attributes, then flattened into
the same tables dlt's row normalizer makes of the same records, with `max_table_nesting=1`:

- a scalar field is a column, a nested object's scalars are `parent__field` columns;
- the root table carries `_dlt_load_id` and a random `_dlt_id`, as dlt gives it;
- a record with rows for a child table (`contacts__social_profiles`) goes the row path: dlt makes child
  tables only in its normalizer (an extract cannot write a nested table), and its merge replaces the
  children of every parent loaded, by either path.

What this path cannot shape as the row path would (a value of another type than the spec says, an unknown
nested list, an object inside an object, which dlt would load as JSON) raises `ArrowShapeError`; the caller
then sends that page down the row path, so the tables come out the same either way.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from dlt.common import json
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema.typing import TDataType, TTableSchemaColumns

from .columns import TABLE_COLUMNS
from .custom_columns import CustomColumns
from .records import ChildList, Record, Shape, convert_timestamps, epoch_seconds, json_at, part_rows, present
from .settings import TIMESTAMP_KEYS_EXTRA

PARSE_TYPES: Final[dict[str, pa.DataType]] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.int64(),  # unix seconds in the API
}
"""dlt type -> the type the JSON reader parses a value into (a mismatch raises, and the page goes by rows)."""

TIMESTAMP: Final = pa.timestamp("us", tz="UTC")
"""What the row path's aware datetimes become in parquet and DuckDB (TIMESTAMP WITH TIME ZONE)."""

MIN_BLOCK_BYTES: Final = 1 << 20

_NAMING = NamingConvention()
_SCALAR_IDS = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)


class ArrowShapeError(ValueError):
    """A page this path would not shape exactly as dlt's row normalizer: it goes the row path instead."""


@dataclass(frozen=True)
class RecordShape:
    """How records of one kind become a root table on the Arrow path (and which of them go the row path)."""

    table: str
    columns: TTableSchemaColumns
    """The typed columns (`TABLE_COLUMNS[table]`): they type the JSON reader and the timestamps."""
    children: tuple[ChildList, ...] = ()
    dropped: frozenset[str] = frozenset()
    """Fields the row path does not load from the record."""
    custom_key: str | None = "custom_attributes"
    custom_types: Mapping[str, TDataType] = field(default_factory=dict)
    """The workspace's custom attributes by their API name (GET /data_attributes) -> dlt type."""
    custom_columns: CustomColumns | None = None
    """The column each custom attribute loads into (custom_columns.py); None: dlt's naming."""
    _root_timestamps: dict[pa.Schema, list[str]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def of(
        cls,
        table: str,
        shape: Shape,
        custom_types: Mapping[str, TDataType] | None = None,
        custom_columns: CustomColumns | None = None,
    ) -> RecordShape:
        """The Arrow path of `shape` (records.py) for `table`, typed by the spec's columns."""
        return cls(
            table,
            TABLE_COLUMNS[table],
            children=shape.children,
            dropped=frozenset(shape.dropped),
            custom_key=shape.custom_key,
            custom_types=dict(custom_types or {}),
            custom_columns=custom_columns,
        )

    def custom_column(self, name: str) -> str:
        """The column custom attribute `name` loads into, as on the row path."""
        if self.custom_columns is not None:
            return self.custom_columns.column(name)
        parent = _column_name(self.custom_key or "")
        return _NAMING.shorten_fragments(parent, _NAMING.normalize_identifier(name))

    def root_timestamps(self, schema: pa.Schema) -> list[str]:
        """The top-level scalar columns of records of `schema` that hold timestamps; worked out once per
        schema (a feed's pages share one), since per page of 150 contacts it cost 0.8 ms."""
        found = self._root_timestamps.get(schema)
        if found is None:
            found = [
                column.name
                for column in schema
                if _is_scalar(column.type) and self.is_timestamp(column.name, column.name, False)
            ]
            self._root_timestamps[schema] = found
        return found

    def record_type(self) -> pa.StructType:
        """The record as the JSON reader should type it; fields not named here are inferred."""
        tree: dict[str, Any] = {}
        for name, column in self.columns.items():
            data_type = PARSE_TYPES.get(column.get("data_type") or "")
            if data_type is None:
                continue  # json columns: parsed as they come (and sent down the row path if they hold data)
            *parents, leaf = name.split("__")
            node = tree
            for parent in parents:
                node = node.setdefault(parent, {})
                if not isinstance(node, dict):
                    break
            else:
                node.setdefault(leaf, data_type)
        if self.custom_key and self.custom_types:
            tree[self.custom_key] = {name: PARSE_TYPES[kind] for name, kind in self.custom_types.items()}
        return _struct_of(tree)

    def with_stored_types(self, stored: TTableSchemaColumns) -> RecordShape:
        """This shape parsing each column as the destination already stores it, where that differs.

        dlt never alters a stored column (see `columns.keep_stored_types`): a float attribute first stored
        as BIGINT must not arrive as a double the database would round. Parsed as stored, a value that
        does not fit fails the page over to the row path, where dlt makes a variant column for it.
        """

        def stored_type(column: str, default: TDataType) -> TDataType:
            kind = stored.get(column, {}).get("data_type")
            return kind if kind in PARSE_TYPES else default

        columns: TTableSchemaColumns = {
            name: {**hint, "data_type": stored_type(name, hint["data_type"])} if "data_type" in hint else hint
            for name, hint in self.columns.items()
        }
        custom = {
            name: stored_type(self.custom_column(name), kind) for name, kind in self.custom_types.items()
        }
        return replace(self, columns=columns, custom_types=custom)

    def is_timestamp(self, column: str, raw_key: str, in_custom: bool) -> bool:
        if in_custom:
            return self.custom_types.get(raw_key) == "timestamp"
        hinted = self.columns.get(column, {}).get("data_type")
        if hinted is not None:
            return hinted == "timestamp"
        return raw_key.endswith("_at") or raw_key in TIMESTAMP_KEYS_EXTRA


def _struct_of(tree: Mapping[str, Any]) -> pa.StructType:
    return pa.struct(
        [pa.field(name, _struct_of(node) if isinstance(node, dict) else node) for name, node in tree.items()]
    )


def parse_body(
    body: bytes, schema: pa.Schema, keep: Sequence[str] | None = None, documents: int = 1
) -> pa.Table:
    """One JSON document (a whole response body) as a one-row table typed by `schema`, or `documents` of
    them joined by newlines as as many rows; with `keep`, only those top-level fields (what else was parsed
    is freed at once).

    Raises pyarrow.ArrowInvalid when the body is not JSON or a value does not fit its declared type.
    """
    read_options = pa_json.ReadOptions(block_size=max(MIN_BLOCK_BYTES, len(body) + 1), use_threads=False)
    parse_options = pa_json.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="infer", newlines_in_values=True
    )
    table = pa_json.read_json(io.BytesIO(body), read_options=read_options, parse_options=parse_options)
    if table.num_rows != documents:
        raise pa.ArrowInvalid(f"expected {documents} JSON document(s), read {table.num_rows}")
    return table if keep is None else table.select([name for name in keep if name in table.column_names])


def envelope_schema(list_path: Sequence[str], record: pa.StructType, **scalars: pa.DataType) -> pa.Schema:
    """The schema of a body holding a list of records at `list_path` (`("data",)`) and some scalars
    (`scroll_param=pa.string()`); a dotted scalar name is a nested path (`"pages.next.starting_after"`)."""
    tree: dict[str, Any] = {}
    for dotted, data_type in scalars.items():
        *parents, leaf = dotted.split(".")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = data_type
    node = tree
    for parent in list_path[:-1]:
        node = node.setdefault(parent, {})
    node[list_path[-1]] = pa.list_(record)
    return pa.schema(_struct_of(tree))


def value_at(table: pa.Table, path: Sequence[str]) -> Any:
    """The scalar at a dotted path of a one-row table (`("pages", "next", "starting_after")`), or None."""
    array = _array_at(table, path)
    return None if array is None else array[0].as_py()


def _array_at(table: pa.Table, path: Sequence[str]) -> pa.Array | None:
    """The values at a dotted path of a table, a row each; None where the path is missing."""
    array: Any = table.column(path[0]).combine_chunks() if path[0] in table.column_names else None
    for key in path[1:]:
        array = field_of(array, key) if array is not None else None
    return array


def field_of(array: pa.Array, key: str) -> pa.Array | None:
    """A struct array's field, null where the object is null (`StructArray.field` ignores that); None if the
    array is no struct or has no such field."""
    if not pa.types.is_struct(array.type) or array.type.get_field_index(key) < 0:
        return None
    return array.flatten()[array.type.get_field_index(key)]


def records_at(table: pa.Table, list_path: Sequence[str]) -> pa.StructArray:
    """The records of the list at `list_path` of one-row tables (one or many bodies concatenated)."""
    lists = _list_at(table, list_path)
    values = lists.flatten()
    if not pa.types.is_struct(values.type):
        if pa.types.is_null(values.type):
            return pa.array([], type=pa.struct([]))
        raise ArrowShapeError(f"{'.'.join(list_path)} holds {values.type}, not objects")
    return values


def parent_index(table: pa.Table, list_path: Sequence[str]) -> pa.Array:
    """For each record of `records_at(table, list_path)`, the row of `table` it came from."""
    return pc.list_parent_indices(_list_at(table, list_path))


def _list_at(table: pa.Table, list_path: Sequence[str]) -> pa.ListArray:
    array = _array_at(table, list_path)
    if array is None or pa.types.is_null(array.type):
        return pa.array([[]] * table.num_rows, type=pa.list_(pa.struct([])))
    if not pa.types.is_list(array.type):
        raise ArrowShapeError(f"{'.'.join(list_path)} is {array.type}, not a list")
    return array


def convert_root_timestamps(records: pa.Table, shape: RecordShape) -> pa.Table:
    """Records (a table of their top-level fields, `records_of`) with the top-level timestamps converted.

    Lists and nested objects stay as they are: `root_table` flattens them. Cursors (`updated_at`) can
    then be compared as datetimes, as dlt's incremental does with the row path's rows.
    """
    timestamps = set(shape.root_timestamps(records.schema))
    columns = [
        to_timestamp(column, name) if name in timestamps else column
        for name, column in zip(records.column_names, records.columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, names=records.column_names)


def check_root_timestamps(records: pa.Table, shape: RecordShape) -> None:
    """Raises ArrowShapeError where `convert_root_timestamps` would: a timestamp that is no number."""
    for name in shape.root_timestamps(records.schema):
        data_type = records.schema.field(name).type
        if not any(check(data_type) for check in _NUMERIC_TIME):
            raise ArrowShapeError(f"timestamp field {name} holds {data_type}")


_NUMERIC_TIME: Final = (pa.types.is_timestamp, pa.types.is_null, pa.types.is_integer, pa.types.is_floating)


def to_timestamp(array: pa.Array, name: str) -> pa.Array:
    """Unix seconds (integers, or floats from a lenient writer) as UTC microsecond timestamps."""
    if pa.types.is_timestamp(array.type) or pa.types.is_null(array.type):
        return array
    if pa.types.is_integer(array.type):
        return pc.multiply(array.cast(pa.int64()), 1_000_000).cast(TIMESTAMP)
    if pa.types.is_floating(array.type):
        return pc.multiply(array, 1_000_000.0).cast(pa.int64(), safe=False).cast(TIMESTAMP)
    raise ArrowShapeError(f"timestamp field {name} holds {array.type}")


def split_rows_with_children(records: pa.Table, shape: RecordShape) -> tuple[pa.Table, pa.Table]:
    """(records whose child lists are all empty, records with child rows).

    Child tables stay with dlt's row normalizer, which alone links them to their parents (dlt cannot
    take a nested table from the extract); those records go the row path, the others the Arrow path.
    """
    has_children = None
    for child in shape.children:
        if child.field not in records.column_names:
            continue
        lists: Any = records.column(child.field).combine_chunks()
        if child.wrapper_key is not None:
            lists = field_of(lists, child.wrapper_key)
        if lists is None or pa.types.is_null(lists.type):
            continue
        if not pa.types.is_list(lists.type):
            raise ArrowShapeError(f"{shape.table}.{child.field} is {lists.type}, not a list")
        nonempty = pc.fill_null(pc.greater(pc.list_value_length(lists), 0), False)
        has_children = nonempty if has_children is None else pc.or_(has_children, nonempty)
    if has_children is None or not pc.any(has_children).as_py():
        return records, records.slice(0, 0)
    return records.filter(pc.invert(has_children)), records.filter(has_children)


def root_table(records: pa.Table, shape: RecordShape, load_id: str) -> pa.Table:
    """The root rows of `records` (from `convert_root_timestamps`, without child rows: see
    `split_rows_with_children`), flattened as dlt's row normalizer would flatten them."""
    child_fields = {child.field for child in shape.children}
    columns: dict[str, pa.Array] = {}
    for name in records.column_names:
        array = records.column(name).combine_chunks()
        if name in shape.dropped or name in child_fields or pa.types.is_null(array.type):
            continue
        if pa.types.is_struct(array.type):
            _flatten_object(columns, name, array, shape, in_custom=name == shape.custom_key)
        elif _is_scalar(array.type):
            columns[_column_name(name)] = array
        elif array.null_count < len(array):
            raise ArrowShapeError(f"{shape.table}.{name} is {array.type}: the row path would make it a table")
    count = records.num_rows
    columns["_dlt_load_id"] = pa.array([load_id] * count, type=pa.string())
    columns["_dlt_id"] = pa.array(generate_dlt_ids(count), type=pa.string())
    required = {
        name
        for name, hint in {**shape.columns, **ROOT_TABLE_COLUMNS}.items()
        if hint.get("nullable") is False
    }
    schema = pa.schema(
        pa.field(name, array.type, nullable=name not in required or bool(array.null_count))
        for name, array in columns.items()
    )
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def _flatten_object(
    columns: dict[str, pa.Array], parent: str, array: pa.StructArray, shape: RecordShape, in_custom: bool
) -> None:
    parent_column = _column_name(parent)
    for arrow_field, values in zip(array.type, array.flatten(), strict=True):
        if pa.types.is_null(values.type):
            continue
        if not _is_scalar(values.type):
            if values.null_count == len(values):
                continue  # never set: the row path would not see it either
            raise ArrowShapeError(
                f"{shape.table}.{parent}.{arrow_field.name} is {values.type}: dlt keeps json"
            )
        if in_custom:
            column = shape.custom_column(arrow_field.name)
        else:
            column = _NAMING.shorten_fragments(parent_column, _NAMING.normalize_identifier(arrow_field.name))
        if shape.is_timestamp(column, arrow_field.name, in_custom):
            values = to_timestamp(values, column)
        columns.pop(column, None)  # names dlt normalizes alike: the later key wins, as on the row path
        columns[column] = values


ROOT_TABLE_COLUMNS: Final[TTableSchemaColumns] = {
    "_dlt_load_id": {"name": "_dlt_load_id", "data_type": "text", "nullable": False},
    "_dlt_id": {"name": "_dlt_id", "data_type": "text", "nullable": False, "unique": True, "row_key": True},
}
"""The columns dlt's row normalizer adds to a root table, with their hints: the Arrow path fills them."""


def with_row_ids(table: pa.Table, column: str, row_id: Callable[[Record], str]) -> pa.Table:
    """A root table (`root_table`) with `column` := `row_id` of each row, as a dict of its columns
    other than dlt's, timestamps as UTC microseconds (history mode's content hashes in place of random
    `_dlt_id`s)."""
    names = [name for name in table.column_names if not name.startswith("_dlt")]
    values = table.select(names)
    for index, value_field in enumerate(values.schema):
        if pa.types.is_timestamp(value_field.type):  # as UTC microseconds: no datetime per value
            micros = values.column(index).cast(TIMESTAMP).cast(pa.int64())
            values = values.set_column(index, pa.field(value_field.name, pa.int64()), micros)
    ids = pa.array([row_id(row) for row in values.to_pylist()], type=pa.string())
    if column in table.column_names:
        return table.set_column(table.column_names.index(column), table.schema.field(column), ids)
    return table.append_column(pa.field(column, pa.string(), nullable=False), ids)


def batched(pages: Iterable[Any], min_rows: int) -> Iterator[Any]:
    """Arrow pages concatenated into tables of at least `min_rows` rows; anything else passes through, in
    order (what was gathered before it is yielded first).

    dlt recomputes a table's schema for every Arrow item it extracts (about 10 ms), which costs more than
    the rows of one API page: batches make that cost a few microseconds a row.
    """
    gathered: list[pa.Table] = []
    count = 0
    for page in pages:
        if not isinstance(page, pa.Table):
            yield from _concatenated(gathered)
            gathered, count = [], 0
            yield page
            continue
        gathered.append(page)
        count += page.num_rows
        if count >= min_rows:
            yield from _concatenated(gathered)
            gathered, count = [], 0
    yield from _concatenated(gathered)


def _concatenated(tables: list[pa.Table]) -> Iterator[pa.Table]:
    if not tables:
        return
    try:
        # one chunk per column: splitting and flattening a batch of 14 page-sized chunks cost 4x as much
        yield pa.concat_tables(tables, promote_options="permissive").combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # pages inferred unknown fields differently
        yield from tables


def _column_name(key: str) -> str:
    return _NAMING.normalize_identifier(key)


def _is_scalar(data_type: pa.DataType) -> bool:
    return any(check(data_type) for check in _SCALAR_IDS) or pa.types.is_timestamp(data_type)


# ----------------------------------------------------------------------------------------------------
# The page interface: the one place that knows whether a page is an Arrow table or a list of dicts
# ----------------------------------------------------------------------------------------------------

logger = logging.getLogger("sources.intercom")

Page = Any
"""A page of records as the readers pass it on: an Arrow table (the Arrow path) or a list of dicts (the
row path). Readers never look inside: they hand it to the functions below."""

BodyParser = Callable[[bytes], Any]
BODY_PARSE_ERRORS: Final = (pa.ArrowInvalid, ArrowShapeError)
"""What a `BodyParser` raises for a body it cannot read: the client then decodes it as plain JSON."""


class Pages:
    """The Arrow-or-rows choice, made once per source run (`arrow`): the shapes and body parsers of the
    Arrow path, or none, and then every page is a list of dicts."""

    def __init__(self, arrow: bool) -> None:
        self.arrow = arrow

    def shape(
        self,
        table: str,
        shape: Shape,
        custom_types: Mapping[str, TDataType] | None = None,
        stored: Any = None,
        custom_columns: CustomColumns | None = None,
    ) -> RecordShape | None:
        """The Arrow shape of `table`, typed as the destination stores it so far (`stored` columns), its
        custom attributes in `custom_columns`; None on the row path or for a shape the Arrow path does
        not take."""
        if not self.arrow or not shape.arrow:
            return None
        record = RecordShape.of(table, shape, custom_types, custom_columns)
        return record.with_stored_types(stored) if stored is not None else record

    @staticmethod
    def parser(
        shape: RecordShape | None, list_path: Sequence[str], keep: Sequence[str] | None = None, **scalars: Any
    ) -> BodyParser | None:
        """The body parser for records of `shape` listed at `list_path` (None: decode as JSON);
        `scalars` are the envelope's other fields read (`scroll_param="text"`), `keep` the fields kept."""
        if shape is None:
            return None
        types = {name: PARSE_TYPES[kind] for name, kind in scalars.items()}
        schema = envelope_schema(list_path, shape.record_type(), **types)
        return functools.partial(parse_body, schema=schema, keep=keep)


def records_of(body: Any, data_key: str, shape: RecordShape | None, dates: frozenset[str]) -> Page:
    """The records of a body: an Arrow table of their top-level fields when the body was read as Arrow and
    fits the shape, its timestamps as the API sent them (`with_root_timestamps` converts a batch of pages
    at once), else dicts with their timestamps converted."""
    if isinstance(body, pa.Table) and shape is not None:
        records = pa.Table.from_struct_array(records_at(body, (data_key,)))
        try:
            check_root_timestamps(records, shape)
            return records
        except ArrowShapeError as exc:
            logger.info(f"a page of {shape.table} goes the row path: {exc}")
            rows = records.to_pylist()
    else:
        rows = json_at(body, (data_key,)) or []
    return [convert_timestamps(row, dates) for row in rows]


def with_root_timestamps(page: Page, shape: RecordShape | None, dates: frozenset[str]) -> Page:
    """Pages from `records_of`, gathered (`batched`), with their top-level timestamps converted: ~1.3 ms a
    call whatever the rows, which per page of 150 contacts was 2.4 s of a 200,000-contact extract. What the
    Arrow path cannot convert goes the row path."""
    if not isinstance(page, pa.Table) or shape is None:
        return page
    try:
        return convert_root_timestamps(page, shape)
    except (ArrowShapeError, pa.ArrowInvalid) as exc:
        logger.info(f"a batch of {shape.table} goes the row path: {exc}")
        return [convert_timestamps(row, dates) for row in page.to_pylist()]


def changed_rows(page: Page, keep: Callable[[list[str], list[int]], list[bool]]) -> Page | None:
    """The rows of `page` that `keep` (given each row's id and `updated_at` in unix seconds) keeps; None
    for an empty Arrow page, which is not passed on (an empty list is, as dlt's incremental expects)."""
    if isinstance(page, pa.Table):
        if not page.num_rows:
            return None
        seconds = _unix_seconds(page.column("updated_at")).to_pylist()
        kept = keep(page.column("id").to_pylist(), seconds)
        return page if all(kept) else page.filter(pa.array(kept, type=pa.bool_()))
    kept = keep([row["id"] for row in page], [epoch_seconds(row["updated_at"]) for row in page])
    return [row for row, keeps in zip(page, kept, strict=True) if keeps]


def _unix_seconds(column: Any) -> Any:
    """Whole unix seconds of a column as the API sends it (numbers) or as converted (timestamps)."""
    if pa.types.is_timestamp(column.type):
        return pc.divide(column.cast(pa.int64()), 1_000_000)
    return column.cast(pa.int64(), safe=False)


def page_ids(page: Page) -> list[str]:
    return page.column("id").to_pylist() if isinstance(page, pa.Table) else [row["id"] for row in page]


def key_values(item: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The key (the values of `columns`) of each row of an item: an Arrow table, a list of rows or a row."""
    if isinstance(item, pa.Table):
        return list(zip(*(item.column(name).to_pylist() for name in columns), strict=True))
    rows = item if isinstance(item, list) else [item]
    return [tuple(row.get(name) for name in columns) for row in rows]


def page_records(page: Page, fields: Iterable[str]) -> list[Record]:
    """The records of a page as dicts; from an Arrow page only the named top-level fields."""
    if not isinstance(page, pa.Table):
        return list(page)
    return page.select([name for name in fields if name in page.column_names]).to_pylist()


def oldest(body: Any, data_key: str, field_name: str) -> int | None:
    """The smallest value of a numeric field (unix seconds, as the API sends it) among the records of a
    body, Arrow or decoded JSON; None if there are none."""
    return _extreme(body, data_key, field_name, pc.min, min)


def newest(body: Any, data_key: str, field_name: str) -> int | None:
    """The largest value of a numeric field among the records of a body, as `oldest`."""
    return _extreme(body, data_key, field_name, pc.max, max)


def _extreme(body: Any, data_key: str, field_name: str, arrow_pick: Any, pick: Any) -> int | None:
    if isinstance(body, pa.Table):
        values = records_at(body, (data_key,))
        if not len(values) or field_name not in values.type.names:
            return None
        found = arrow_pick(field_of(values, field_name)).as_py()
        return None if found is None else int(found)
    stamps = [row.get(field_name) for row in json_at(body, (data_key,)) or []]
    numbers = [int(stamp) for stamp in stamps if isinstance(stamp, int | float)]
    return pick(numbers) if numbers else None


def whole_json(content: bytes) -> bytes:
    """A body as it came, once known to be whole JSON (`parse_together` reads it later, with others)."""
    decoded_json(content)
    return content


def decoded_json(content: bytes) -> Any:
    """A body decoded as JSON, as a `BodyParser`: a body cut short raises, and is asked for again like any
    truncated page."""
    try:
        return json.loadb(content)
    except ValueError as exc:
        raise pa.ArrowInvalid(f"not a whole JSON document: {exc}") from exc


def parse_together(bodies: Sequence[Any], parse: BodyParser) -> list[Any]:
    """Single objects fetched as whole JSON (`whole_json`) read by one call of `parse`, a row each (150
    conversations took 30 ms read together, 270 ms read one by one). Where they cannot be read together
    (a field typed differently in one of them), each is read alone, as Arrow or else as JSON."""
    whole = [body for body in bodies if isinstance(body, bytes)]
    decoded = [body for body in bodies if not isinstance(body, bytes)]  # answered without a JSON type
    if not whole:
        return decoded
    try:
        return [parse(b"\n".join(whole), documents=len(whole)), *decoded]  # type: ignore[call-arg]
    except BODY_PARSE_ERRORS:
        return [*(parsed_alone(body, parse) for body in whole), *decoded]


def parsed_alone(body: bytes, parse: BodyParser | None) -> Any:
    """A body fetched as whole JSON (`whole_json`) read by `parse` (Arrow) where it can be, else decoded."""
    if parse is not None:
        try:
            return parse(body)
        except BODY_PARSE_ERRORS:
            pass
    return json.loadb(body)


def list_sizes(body: Any, parts_key: str) -> list[tuple[Any, int, int]]:
    """(id, total_count, items returned) of the list at `parts_key` of each object of a body: Arrow (a row
    per object) or decoded JSON (one object)."""
    if not isinstance(body, pa.Table):
        total = json_at(body, (parts_key, "total_count")) or 0
        return [(body.get("id"), total, len(json_at(body, (parts_key, parts_key)) or []))]
    returned = pc.list_value_length(_list_at(body, (parts_key, parts_key))).fill_null(0).to_pylist()
    totals, id_array = _array_at(body, (parts_key, "total_count")), _array_at(body, ("id",))
    counts = totals.to_pylist() if totals is not None else [0] * body.num_rows
    ids = id_array.to_pylist() if id_array is not None else [None] * body.num_rows
    return [(oid, total or 0, size) for oid, total, size in zip(ids, counts, returned, strict=True)]


def body_value(body: Any, path: Sequence[str]) -> Any:
    """The scalar at `path` of a body, Arrow (one row) or decoded JSON; None where it is missing."""
    return value_at(body, path) if isinstance(body, pa.Table) else json_at(body, path)


def body_list_length(body: Any, path: Sequence[str]) -> int:
    if isinstance(body, pa.Table):
        return len(records_at(body, path))
    return len(json_at(body, path) or [])


def root_items(
    page: Page, shape: RecordShape | None, row_of: Callable[[Record], Record], dates: frozenset[str]
) -> Iterator[Page]:
    """A page as items of its table: the row path makes each row with `row_of`; the Arrow path yields the
    root rows' Arrow table, then as rows (by `row_of`) the records with child rows and all of a page the
    shape cannot take."""
    if not isinstance(page, pa.Table) or shape is None:
        yield [row_of(record) for record in page]
        return
    page = page.drop_columns([name for name in shape.dropped if name in page.column_names])
    try:
        plain, with_children = split_rows_with_children(page, shape)
        table: pa.Table | None = root_table(plain, shape, current_load_id())
    except ArrowShapeError as exc:
        logger.info(f"a page of {shape.table} goes the row path: {exc}")
        with_children, table = page, None
    if table is not None and table.num_rows:
        yield table
    if with_children.num_rows:
        yield [row_of(convert_timestamps(record, dates)) for record in with_children.to_pylist()]


def part_items(
    details: list[Any], shape: RecordShape | None, parts_key: str, parent_column: str
) -> Iterator[Page]:
    """The parts of conversation or ticket bodies (Arrow or decoded JSON), each with `parent_column`:
    an Arrow table of those without child rows, then as rows those with attachments (all of them where
    the shape cannot take them, or the bodies are JSON)."""
    path = (parts_key, parts_key)
    bodies = [detail for detail in details if isinstance(detail, pa.Table)]
    rows = _part_rows(
        [detail for detail in details if not isinstance(detail, pa.Table)], parts_key, parent_column
    )
    if bodies and shape is not None:
        try:
            joined = pa.concat_tables(bodies, promote_options="permissive")
            parts = records_at(joined, path)
            if len(parts):
                records = convert_root_timestamps(pa.Table.from_struct_array(parts), shape).drop_columns(
                    [name for name in (parent_column,) if name in parts.type.names]
                )
                parents = pc.take(joined.column("id"), parent_index(joined, path))
                records = records.append_column(parent_column, parents)
                plain, with_children = split_rows_with_children(records, shape)
                table = root_table(plain, shape, current_load_id())
                rows += [present(convert_timestamps(part)) for part in with_children.to_pylist()]
                if table.num_rows:
                    yield table
        except (ArrowShapeError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            logger.info(f"a page of {shape.table} goes the row path: {exc}")
            rows += _part_rows(
                [detail for body in bodies for detail in body.to_pylist()], parts_key, parent_column
            )
    if rows:
        yield rows


def _part_rows(details: list[Record], parts_key: str, parent_column: str) -> list[Record]:
    return [
        part for detail in details for part in part_rows(convert_timestamps(detail), parts_key, parent_column)
    ]


def current_load_id() -> str:
    """The id of the load package being extracted (the row path's `_dlt_load_id`)."""
    return str(dlt.current.load_package_state()["load_id"])
