"""Every custom attribute loads into a column of its own (sources/intercom/custom_columns.py), named the same
on the Arrow and the row path and in every run, even when names collide after dlt's snake_case or lose
their letters; `data_attributes.column_name` says which column each attribute went to."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sources.intercom.custom_columns import CustomColumns
from tests.source.conftest import Harness, start_harness
from tests.source.test_arrow_path import assert_same_tables

RESOURCES = ("contacts", "companies", "conversations", "data_attributes")

CREATED = {
    # model: (name, data_type, column) in the order the attributes are created, after the generated ones
    "contact": [
        ("plan_type", "string", "custom_attributes__plan_type"),  # the oldest of its group keeps the name
        ("Plan Type", "string", "custom_attributes__plan_type_d973ab"),
        ("PlanType", "integer", "custom_attributes__plan_type_24810f"),
        ("référence client", "string", "custom_attributes__reference_client"),
        ("名前", "string", "custom_attributes__x_7ec262"),  # no letter left: always the hashed name
        ("имя", "string", "custom_attributes__imya"),
    ],
    # the generated `Account Owner` and `Issue Type` are older
    "company": [("account_owner", "string", "custom_attributes__account_owner_f65c9a")],
    "conversation": [("issue_type", "string", "custom_attributes__issue_type_158db4")],
}
OLDER = {
    "company": ("Account Owner", "custom_attributes__account_owner"),
    "conversation": ("Issue Type", "custom_attributes__issue_type"),
}
TABLES = {"contact": "contacts", "company": "companies", "conversation": "conversations"}


def columns_of(model: str) -> list[tuple[str, str]]:
    """(name, column) of the attributes created in the test, and of the older one they collide with."""
    created = [(name, column) for name, _, column in CREATED[model]]
    return created + ([OLDER[model]] if model in OLDER else [])


def value(name: str, data_type: str, object_id: str, run: int = 1) -> Any:
    return (
        1000 * run + sum(map(ord, object_id)) if data_type == "integer" else f"{name} of {object_id} ({run})"
    )


def set_values(
    harness: Harness, model: str, ids: list[str], attributes: list[tuple[str, str]], run: int
) -> None:
    ws = harness.workspace
    for object_id in ids:
        custom = {name: value(name, data_type, object_id, run) for name, data_type in attributes}
        if model == "contact":
            ws.update_contact(object_id, custom_attributes=custom)
        elif model == "company":
            ws.update_company(
                object_id, custom_attributes={**ws.companies[object_id]["custom_attributes"], **custom}
            )
        else:
            merged = {**ws.conversations[object_id]["custom_attributes"], **custom}
            ws.update_conversation(object_id, custom_attributes=merged)


def chosen_ids(harness: Harness) -> dict[str, list[str]]:
    ws = harness.workspace
    return {
        "contact": list(ws.contacts)[:5],
        "company": list(ws.companies)[:3],
        "conversation": list(ws.conversations)[:3],
    }


def truth(harness: Harness, model: str, object_id: str) -> dict[str, Any]:
    ws = harness.workspace
    objects = {"contact": ws.contacts, "company": ws.companies, "conversation": ws.conversations}
    return objects[model][object_id]


def loaded(harness: Harness, model: str, object_id: str, columns: list[str]) -> list[Any]:
    (row,) = harness.query(f"SELECT {', '.join(columns)} FROM {TABLES[model]} WHERE id = '{object_id}'")
    return list(row)


def column_names(harness: Harness) -> dict[tuple[str, str], str]:
    rows = harness.query("SELECT model, name, column_name FROM data_attributes WHERE custom")
    return {(model, name): column for model, name, column in rows}


def data_attribute_requests(harness: Harness) -> int:
    return sum(1 for _, target, _ in harness.server.request_log if target.startswith("/data_attributes"))


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[tuple[Harness, Harness]]:
    arrow, server = start_harness(tmp_path / "arrow", contacts=60, companies=12, conversations=12, tickets=2)
    rows = Harness(arrow.workspace, server, tmp_path / "rows", source_options={"arrow": False})
    try:
        yield arrow, rows
    finally:
        server.stop()


def test_every_custom_attribute_loads_into_its_own_column_on_both_paths(
    twin: tuple[Harness, Harness],
) -> None:
    arrow, rows = twin
    ws, ids = arrow.workspace, chosen_ids(arrow)
    for model, attributes in CREATED.items():
        for name, data_type, _ in attributes:
            ws.clock.advance(60)
            ws.create_data_attribute(model, name, data_type)
        set_values(arrow, model, ids[model], [(name, kind) for name, kind, _ in attributes], run=1)

    for harness in (arrow, rows):
        harness.run(RESOURCES)
        for model in CREATED:
            named = columns_of(model)
            for object_id in ids[model]:
                custom = truth(arrow, model, object_id)["custom_attributes"]
                expected = [custom.get(name) for name, _ in named]
                assert loaded(harness, model, object_id, [column for _, column in named]) == expected
        mapping = column_names(harness)
        for model in CREATED:
            assert {name: mapping[(model, name)] for name, _ in columns_of(model)} == dict(columns_of(model))
        for model in TABLES:
            of_model = [column for (owner, _), column in mapping.items() if owner == model]
            assert len(set(of_model)) == len(of_model), model
            stored = {
                name
                for (name,) in harness.query(
                    f"SELECT column_name FROM information_schema.columns WHERE table_name = '{TABLES[model]}'"
                )
            }
            assert set(of_model) <= stored, model
    assert_same_tables(arrow, rows)


def test_a_column_keeps_its_attribute_when_later_ones_collide_with_it(twin: tuple[Harness, Harness]) -> None:
    arrow, rows = twin
    ws, contact_ids = arrow.workspace, chosen_ids(arrow)["contact"]
    attributes = [(name, kind) for name, kind, _ in CREATED["contact"]]
    for name, data_type in attributes:
        ws.clock.advance(60)
        ws.create_data_attribute("contact", name, data_type)
    set_values(arrow, "contact", contact_ids, attributes, run=1)
    for harness in (arrow, rows):
        harness.run(("contacts",))

    ws.clock.advance(60)
    ws.create_data_attribute("contact", "PLAN TYPE", "string")
    later = [*attributes, ("PLAN TYPE", "string"), ("Plan-Type", "string")]  # Plan-Type: not listed at all
    set_values(arrow, "contact", contact_ids, later, run=2)
    columns = [column for _, _, column in CREATED["contact"]]
    columns += ["custom_attributes__plan_type_4000bd", "custom_attributes__plan_type_02fede"]
    for harness in (arrow, rows):
        before = data_attribute_requests(harness)
        harness.run(("contacts",))
        assert data_attribute_requests(harness) - before == 2  # the contacts' list, read again for Plan-Type
        for object_id in contact_ids:
            expected = [value(name, kind, object_id, run=2) for name, kind in later]
            assert loaded(harness, "contact", object_id, columns) == expected
    assert_same_tables(arrow, rows)


def test_the_columns_do_not_depend_on_the_order_attributes_are_listed_or_read_in() -> None:
    listed = [
        {"name": name, "custom": True, "created_at": 100 + index, "id": 7 + index}
        for index, (name, _, _) in enumerate(CREATED["contact"])
    ]
    expected = {name: column for name, _, column in CREATED["contact"]}
    for order in itertools.permutations(listed):
        columns = CustomColumns(order)
        assert {name: columns.column(name) for name in reversed(expected)} == expected


def test_a_key_not_listed_has_the_list_read_again_once() -> None:
    listed: list[dict[str, Any]] = [{"name": "Plan Type", "custom": True, "created_at": 1}]
    newer = {"name": "plan_type", "custom": True, "created_at": 2}
    newest = {"name": "Colour", "custom": True, "created_at": 3}
    reads: list[int] = []

    def reread() -> list[dict[str, Any]]:
        reads.append(1)
        return [*listed, newer, newest]

    columns = CustomColumns(listed, reread)
    assert columns.column("Plan Type") == "custom_attributes__plan_type"
    assert columns.column("plan_type") == "custom_attributes__plan_type_fcbb99"  # created after the list
    assert columns.column("Colour") == "custom_attributes__colour"
    assert columns.column("Not Listed") == "custom_attributes__not_listed_" + columns.key("Not Listed")[-6:]
    assert columns.listed_column("Not Listed") is None
    assert len(reads) == 1
