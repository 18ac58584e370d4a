"""The Arrow path (pages parsed straight into Arrow tables) loads exactly what the row path loads.

Two pipelines read the same simulated workspace, one with `arrow=True` (the default) and one with
`arrow=False`; every table must come out with the same columns, types and values (dlt's own random
`_dlt_id` / `_dlt_load_id` / parent links aside, which are compared as links), first on a full load and
again after changes that add, drop and move child rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from sources.intercom.arrow_pages import (
    ArrowShapeError,
    RecordShape,
    envelope_schema,
    parse_body,
    records_of,
    root_table,
    split_rows_with_children,
    with_root_timestamps,
)
from sources.intercom.records import CONTACT
from tests.source.conftest import Harness, start_harness

RESOURCES = ("contacts", "companies", "conversations", "conversation_parts", "contact_tags")
LINK_COLUMNS = {"_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id"}


def columns_of(harness: Harness, table: str) -> list[tuple[str, str]]:
    return [
        (name, kind)
        for name, kind in harness.query(
            "SELECT column_name, data_type FROM information_schema.columns"
            f" WHERE table_schema = 'intercom_data' AND table_name = '{table}' ORDER BY column_name"
        )
    ]


def contents(harness: Harness, table: str) -> list[tuple[Any, ...]]:
    """The rows of `table` without dlt's random ids; a child row carries its parent's `id` instead."""
    names = [name for name, _ in columns_of(harness, table) if name not in LINK_COLUMNS]
    select = ", ".join(f"t.{name}" for name in names)
    if "__" in table and "_dlt_parent_id" in {name for name, _ in columns_of(harness, table)}:
        parent = table.rsplit("__", 1)[0]
        sql = f"SELECT p.id, {select} FROM {table} t JOIN {parent} p ON p._dlt_id = t._dlt_parent_id"
    else:
        sql = f"SELECT {select} FROM {table} t"
    return sorted(harness.query(sql), key=repr)


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[tuple[Harness, Harness]]:
    arrow, server = start_harness(tmp_path / "arrow", contacts=400, companies=80, conversations=60)
    rows = Harness(arrow.workspace, server, tmp_path / "rows", source_options={"arrow": False})
    try:
        yield arrow, rows
    finally:
        server.stop()


def assert_same_tables(arrow: Harness, rows: Harness) -> None:
    assert arrow.tables() == rows.tables()
    load_ids = {load_id for (load_id,) in arrow.query("SELECT load_id FROM _dlt_loads")}
    for table in sorted(rows.tables()):
        if table.startswith("_dlt"):
            continue
        assert columns_of(arrow, table) == columns_of(rows, table), table
        assert contents(arrow, table) == contents(rows, table), table
        if "_dlt_load_id" in dict(columns_of(arrow, table)):
            stamped = {load_id for (load_id,) in arrow.query(f"SELECT DISTINCT _dlt_load_id FROM {table}")}
            assert stamped <= load_ids, table  # the Arrow path stamps the load it was extracted in
        unique = arrow.query(f"SELECT count(DISTINCT _dlt_id) = count(*) FROM {table}")
        assert unique == [(True,)], table


def test_arrow_and_row_paths_load_the_same_tables(twin: tuple[Harness, Harness]) -> None:
    arrow, rows = twin
    arrow.run(RESOURCES)
    rows.run(RESOURCES)
    assert_same_tables(arrow, rows)
    assert arrow.query("SELECT count(*) FROM contacts__social_profiles")[0][0] > 0
    assert arrow.query("SELECT count(*) FROM companies__tags")[0][0] > 0
    assert arrow.query("SELECT count(*) FROM conversation_parts")[0][0] > 0

    ws = arrow.workspace
    ws.clock.advance(3_600)
    with_profiles = [cid for cid, contact in ws.contacts.items() if contact["social_profiles"]["data"]]
    without = [cid for cid, contact in ws.contacts.items() if not contact["social_profiles"]["data"]]
    ws.update_contact(with_profiles[0], social_profiles={"type": "list", "data": []}, name="No Profiles")
    profile = {"type": "social_profile", "name": "Twitter", "url": "https://twitter.com/new"}
    ws.update_contact(without[0], social_profiles={"type": "list", "data": [profile]})
    ws.update_contact(without[1], name="Renamed", custom_attributes={"seats": 99})
    company_id = next(iter(ws.companies))
    ws.update_company(company_id, name="Renamed Co")
    conversation_id = next(iter(ws.conversations))
    ws.add_conversation_part(conversation_id, body="a new part")
    arrow.run(RESOURCES)
    rows.run(RESOURCES)
    assert_same_tables(arrow, rows)
    profiles = arrow.query(
        "SELECT c.id, count(p.url) FROM contacts c LEFT JOIN contacts__social_profiles p"
        " ON p._dlt_root_id = c._dlt_id GROUP BY c.id"
    )
    assert dict(profiles)[with_profiles[0]] == 0
    assert dict(profiles)[without[0]] == 1
    assert arrow.query(f"SELECT name FROM contacts WHERE id = '{without[1]}'") == [("Renamed",)]


def contacts_body(records: list[dict[str, Any]]) -> bytes:
    from dlt.common import json

    return json.dumpb({"type": "list", "data": records, "pages": {"next": None}, "total_count": len(records)})


def contact(**fields: Any) -> dict[str, Any]:
    return {"type": "contact", "id": "c1", "updated_at": 1_700_000_000, **fields}


def shaped(records: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    shape = RecordShape.of("contacts", CONTACT, {"Plan Tier": "text", "Last Demo": "timestamp"})
    schema = envelope_schema(("data",), shape.record_type(), **{"pages.next.starting_after": pa.string()})
    page = records_of(parse_body(contacts_body(records), schema), "data", shape, frozenset())
    table = with_root_timestamps(page, shape, frozenset())
    plain, with_children = split_rows_with_children(table, shape)
    return root_table(plain, shape, "load-1"), with_children


def test_arrow_shapes_columns_like_the_row_normalizer() -> None:
    root, with_children = shaped(
        [
            contact(
                location={"type": "location", "city": "Berlin"},
                custom_attributes={"Plan Tier": "pro", "Last Demo": 1_700_000_100},
                tags={"type": "list", "data": [{"id": "t1"}], "has_more": False, "total_count": 1},
                social_profiles={"type": "list", "data": []},
            ),
            contact(id="c2", social_profiles={"type": "list", "data": [{"name": "X", "url": "u"}]}),
        ]
    )
    assert with_children.column("id").to_pylist() == ["c2"]
    assert root.column("id").to_pylist() == ["c1"]
    assert root.column("location__city").to_pylist() == ["Berlin"]
    assert root.column("custom_attributes__plan_tier").to_pylist() == ["pro"]
    assert root.schema.field("custom_attributes__last_demo").type == pa.timestamp("us", tz="UTC")
    assert root.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert "tags" not in root.column_names and "social_profiles" not in root.column_names
    assert root.column("_dlt_load_id").to_pylist() == ["load-1"]


@pytest.mark.parametrize(
    "record",
    [
        contact(updated_at="yesterday"),  # not the spec's type: the JSON reader refuses it
        contact(custom_attributes={"Plan Tier": 3}),
    ],
)
def test_values_of_another_type_than_the_spec_are_refused(record: dict[str, Any]) -> None:
    with pytest.raises(pa.ArrowInvalid):
        shaped([record])


def test_nested_objects_dlt_keeps_as_json_are_refused() -> None:
    with pytest.raises(ArrowShapeError):
        shaped([contact(location={"type": "location", "geo": {"lat": 1.0}})])


def test_pages_that_do_not_fit_go_the_row_path_and_load_the_same(twin: tuple[Harness, Harness]) -> None:
    """An object inside an object (dlt keeps it as json), in a contact, a company and a conversation part."""
    arrow, rows = twin
    ws = arrow.workspace
    contact_id = next(iter(ws.contacts))
    ws.update_contact(contact_id, location={"type": "location", "geo": {"lat": 1.5}})
    company_id = next(iter(ws.companies))
    ws.update_company(company_id, plan={"type": "plan", "id": "9", "name": "Pro", "limits": {"seats": 5}})
    conversation_id = next(iter(ws.conversations))
    part = ws.conversation_parts(conversation_id)[-1]
    part["author"] = {**part["author"], "device": {"os": "ios"}}  # nothing served yet: no cached JSON
    arrow.run(RESOURCES)
    rows.run(RESOURCES)
    assert_same_tables(arrow, rows)
    stored = arrow.query(f"SELECT location__geo FROM contacts WHERE id = '{contact_id}'")
    assert "1.5" in str(stored[0][0])
    assert "seats" in str(arrow.query(f"SELECT plan__limits FROM companies WHERE id = '{company_id}'")[0][0])
    device = arrow.query(f"SELECT author__device FROM conversation_parts WHERE id = '{part['id']}'")
    assert "ios" in str(device[0][0])


def test_the_duckdb_file_is_readable(twin: tuple[Harness, Harness]) -> None:
    arrow, _ = twin
    arrow.run(("contacts",))
    with duckdb.connect(str(arrow.duckdb_path), read_only=True) as connection:
        count = connection.execute("SELECT count(*) FROM intercom_data.contacts").fetchone()
    assert count is not None and count[0] == len(arrow.workspace.contacts)


PARTS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        (
            "conversation_parts",
            pa.struct(
                [
                    ("total_count", pa.int64()),
                    ("conversation_parts", pa.list_(pa.struct([("id", pa.string()), ("body", pa.string())]))),
                ]
            ),
        ),
    ]
)


def detail(oid: str, parts: int, total: int, **extra: Any) -> bytes:
    import json

    listed = [{"id": f"{oid}-{n}", "body": "line one\nline two"} for n in range(parts)]
    body = {"id": oid, "conversation_parts": {"total_count": total, "conversation_parts": listed}, **extra}
    return json.dumps(body, indent=1).encode()  # printed over many lines, as some servers do


def test_details_are_read_together_a_row_each_in_order_with_their_list_sizes() -> None:
    """Detail bodies fetched whole are read by one parse, one row per body in fetch order; `list_sizes`
    gives each object's listed and total parts, which is what the truncation warning compares."""
    import functools

    from sources.intercom.arrow_pages import list_sizes, parse_body, parse_together

    parse = functools.partial(parse_body, schema=PARTS_SCHEMA, keep=("id", "conversation_parts"))
    tables = parse_together([detail("a", 2, 2), detail("b", 0, 0), detail("c", 3, 600)], parse)
    assert len(tables) == 1 and tables[0].num_rows == 3
    assert list_sizes(tables[0], "conversation_parts") == [("a", 2, 2), ("b", 0, 0), ("c", 600, 3)]
    assert list_sizes({"id": "d", "conversation_parts": {"total_count": 9}}, "conversation_parts") == [
        ("d", 9, 0)
    ]


def test_details_that_cannot_be_read_together_are_read_one_by_one() -> None:
    """A field typed differently in one body fails the joined read: each body is then read alone, so the
    others stay on the Arrow path and none is lost; a body no Arrow read takes is decoded as JSON."""
    import functools

    from sources.intercom.arrow_pages import parse_body, parse_together, whole_json

    parse = functools.partial(parse_body, schema=PARTS_SCHEMA, keep=("id", "conversation_parts"))
    bodies = [
        detail("a", 1, 1, extra=1),
        detail("b", 1, 1, extra="text"),
        b'{"id": "c", "conversation_parts": 5}',
    ]
    read = parse_together(bodies, parse)
    assert [type(item) for item in read] == [pa.Table, pa.Table, dict]
    assert [item.column("id")[0].as_py() for item in read[:2]] == ["a", "b"] and read[2]["id"] == "c"
    with pytest.raises(pa.ArrowInvalid):
        whole_json(detail("a", 5, 5)[:-20])  # cut short: asked for again, never read
    assert whole_json(bodies[0]) is bodies[0]
