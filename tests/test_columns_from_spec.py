"""The generated column hints (sources/intercom/columns.py): current with the spec, complete, and what a load
of a simulated workspace really produces."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.common.schema.typing import TTableSchemaColumns

from sources.intercom.columns import TABLE_COLUMNS, custom_attribute_hints, keep_stored_types
from sources.intercom.custom_columns import CustomColumns
from tests.columns_from_spec import COLUMNS_PY, normalizer, render, the_source
from tests.source.conftest import Harness, start_harness

DEMO_WORKSPACE = {"seed": 1, "contacts": 2000, "companies": 200, "conversations": 600, "tickets": 100}
"""The size of `intercom_pipeline.py --demo`."""
UNHINTED_RESOURCES = {"content_exports": "its columns are the export CSV's header, not in the spec"}
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "json": "JSON",
}
UNTYPED_WARNING = "did not receive any data"


def test_columns_py_is_generated_from_the_current_spec() -> None:
    current = COLUMNS_PY.read_text(encoding="utf-8")
    assert render(current) == current, "columns.py is stale: run `python -m tests.columns_from_spec`"


def test_every_table_of_the_source_has_hints() -> None:
    tables = set(the_source().resources) - set(UNHINTED_RESOURCES)
    assert tables == set(TABLE_COLUMNS)


def test_hints_follow_the_row_shaping() -> None:
    contacts, tickets, notes = TABLE_COLUMNS["contacts"], TABLE_COLUMNS["tickets"], TABLE_COLUMNS["notes"]
    assert {"avatar__image_url", "ios_device", "utm_source", "referrer", "location__country_code"} <= set(
        contacts
    )
    assert not {column for column in contacts if column.split("__")[0] in ("tags", "notes", "companies")}
    assert not {column for column in contacts if column.startswith(("opted_", "custom_attributes"))}
    assert "ticket_type_id" in tickets and not any(column.startswith("ticket_type__") for column in tickets)
    assert {"contact_id", "author_id"} <= set(notes) and not any("author__" in column for column in notes)
    assert TABLE_COLUMNS["conversation_parts"]["conversation_id"]["data_type"] == "text"
    assert TABLE_COLUMNS["ticket_parts"]["ticket_id"]["data_type"] == "text"
    assert contacts["deleted_at"]["data_type"] == "timestamp"
    assert TABLE_COLUMNS["contact_tags"]["_tombstone"]["hard_delete"] is True
    assert contacts["id"]["nullable"] is False and contacts["email"]["nullable"] is True


def test_every_timestamp_is_typed_timestamp() -> None:
    for table, columns in TABLE_COLUMNS.items():
        for column, hint in columns.items():
            last = column.rsplit("__", 1)[-1]
            if last.endswith("_at") or last in ("waiting_since", "snoozed_until"):
                assert hint["data_type"] == "timestamp", f"{table}.{column}"


def attribute(name: str, data_type: str, custom: bool = True) -> dict[str, Any]:
    return {"name": name, "data_type": data_type, "custom": custom, "model": "contact"}


def hints_of(attributes: list[dict[str, Any]]) -> TTableSchemaColumns:
    return custom_attribute_hints(attributes, CustomColumns(attributes))


def test_custom_attribute_hints_type_each_custom_attribute() -> None:
    hints = hints_of(
        [
            attribute("Plan Type", "string"),
            attribute("renewal.date", "date"),
            attribute("NPS Score", "integer"),
            attribute("MRR", "float"),
            attribute("is Beta", "boolean"),
            attribute("email", "string", custom=False),
            attribute("Tiers", "options"),  # not a type the spec lists: left to dlt
        ]
    )
    assert hints == {
        "custom_attributes__plan_type": {"data_type": "text", "nullable": True},
        "custom_attributes__renewal_date": {"data_type": "timestamp", "nullable": True},
        "custom_attributes__nps_score": {"data_type": "bigint", "nullable": True},
        "custom_attributes__mrr": {"data_type": "double", "nullable": True},
        "custom_attributes__is_beta": {"data_type": "bool", "nullable": True},
    }


def test_custom_attribute_columns_are_the_ones_dlt_flattens_into() -> None:
    names = ["Plan Type", "renewal.date", "NPS Score", "favourite 🍕", "Ünïcødé", "_default_", "9 lives"]
    names += ["名前", "plan_type", "имя", "Größe"]
    columns = CustomColumns([attribute(name, "integer") for name in names])
    custom = columns.renamed({name: index for index, name in enumerate(names)})
    row = {"id": "1", "custom_attributes": custom}
    ((table, _, _), flat), *_ = normalizer(the_source()).normalize_data_item(row, "0", "contacts")
    flattened = {value: column for column, value in flat.items() if column.startswith("custom_attributes__")}
    assert [columns.column(name) for name in names] == [flattened[i] for i in range(len(names))]
    assert len(set(flattened.values())) == len(names)


def test_names_dlt_normalizes_alike_each_get_a_column_typed_as_declared() -> None:
    colliding = [
        attribute("Plan Type", "string"),
        attribute("plan_type", "integer"),
        attribute("PlanType", "date"),
    ]
    hints = hints_of(colliding)
    assert len(hints) == 3
    assert sorted(hint["data_type"] for hint in hints.values()) == ["bigint", "text", "timestamp"]


def test_a_stored_column_is_not_retyped(caplog: pytest.LogCaptureFixture) -> None:
    hints = hints_of([attribute("MRR", "float"), attribute("seats", "integer")])
    stored: TTableSchemaColumns = {
        "custom_attributes__mrr": {"name": "custom_attributes__mrr", "data_type": "bigint"}
    }
    with caplog.at_level(logging.WARNING, logger="sources.intercom"):
        kept = keep_stored_types(hints, stored)
    assert kept == {"custom_attributes__seats": {"data_type": "bigint", "nullable": True}}
    assert "custom_attributes__mrr is stored as bigint" in caplog.text


def test_an_existing_dataset_keeps_a_custom_attribute_stored_with_another_type(tmp_path: Path) -> None:
    """dlt does not alter stored columns: retyping MRR (float) to double would have DuckDB round its values
    into the BIGINT column an earlier, unhinted load inferred from whole numbers."""
    harness, server = start_harness(tmp_path)
    try:

        @dlt.source(name="intercom", max_table_nesting=1)
        def unhinted() -> Any:
            old = {"id": "old", "custom_attributes": {"MRR": 5}}
            return dlt.resource([old], name="contacts", primary_key="id", write_disposition="merge")

        harness.pipeline().run(unhinted())
        harness.run(("contacts",))
        columns = harness.pipeline().default_schema.get_table_columns("contacts")
        assert columns["custom_attributes__mrr"]["data_type"] == "bigint"
        assert columns["custom_attributes__seats"]["data_type"] == "bigint"
        loaded = dict(
            harness.query(
                "SELECT id, coalesce(custom_attributes__mrr__v_double, custom_attributes__mrr) FROM contacts"
            )
        )
        for contact_id, contact in harness.workspace.contacts.items():
            assert loaded[contact_id] == contact["custom_attributes"].get("MRR"), contact_id
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------------------
# A demo-sized workspace, every resource, loaded into DuckDB
# ----------------------------------------------------------------------------------------------------


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def dlt_warnings() -> Iterator[list[str]]:
    """Warnings of the `dlt` logger (which does not propagate to the root logger) while in the block."""
    handler = _Messages()
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        dlt_logger.removeHandler(handler)


@pytest.fixture(scope="module")
def demo_load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, list[str]]]:
    """Every resource, data events and contact segments included, of a demo-sized workspace, loaded once."""
    harness, server = start_harness(Path(tmp_path_factory.mktemp("columns")), **DEMO_WORKSPACE)
    try:
        resources = tuple(harness.source().resources)
        with dlt_warnings() as warnings:
            harness.run(resources)
        yield harness, warnings
    finally:
        server.stop()


def destination_types(harness: Harness) -> dict[str, dict[str, str]]:
    """`{table: {column: DuckDB type}}` of the dataset."""
    types: dict[str, dict[str, str]] = {}
    for table, column, data_type in harness.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'intercom_data'"
    ):
        types.setdefault(table, {})[column] = data_type
    return types


def expected_hints(harness: Harness) -> dict[str, TTableSchemaColumns]:
    """The generated hints, with those of the workspace's custom attributes on the tables they belong to."""
    models = {"contacts": "contact", "companies": "company", "conversations": "conversation"}
    attributes = harness.workspace.data_attributes
    custom = {
        table: hints_of([a for a in attributes if a["model"] == model]) for table, model in models.items()
    }
    return {table: {**columns, **custom.get(table, {})} for table, columns in TABLE_COLUMNS.items()}


def test_no_untyped_column_warning(demo_load: tuple[Harness, list[str]]) -> None:
    _, warnings = demo_load
    assert not [message for message in warnings if UNTYPED_WARNING in message]


def test_every_hinted_column_exists_with_its_type(demo_load: tuple[Harness, list[str]]) -> None:
    harness, _ = demo_load
    loaded = destination_types(harness)
    for table, hints in expected_hints(harness).items():
        for column, hint in hints.items():
            assert loaded[table].get(column) == DUCKDB_TYPES[hint["data_type"]], f"{table}.{column}"
    assert {"ios_device", "avatar__image_url", "formatted_phone", "utm_term"} <= set(loaded["contacts"])


def test_no_column_has_another_type_than_its_hint(demo_load: tuple[Harness, list[str]]) -> None:
    harness, _ = demo_load
    schema = harness.pipeline().default_schema
    for table, hints in expected_hints(harness).items():
        columns = schema.get_table_columns(table)
        for column, hint in hints.items():
            assert columns[column].get("data_type") == hint["data_type"], f"{table}.{column}"
        variants = [column for column in columns if "__v_" in column]
        assert not variants, f"{table} has variant columns {variants}"


def test_every_timestamp_column_has_a_time_zone(demo_load: tuple[Harness, list[str]]) -> None:
    harness, _ = demo_load
    for table, columns in destination_types(harness).items():
        for column, data_type in columns.items():
            if column.endswith("_at"):
                assert data_type == "TIMESTAMP WITH TIME ZONE", f"{table}.{column} is {data_type}"
