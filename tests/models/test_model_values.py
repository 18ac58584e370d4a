"""The models' values on the hand-built fixture, on DuckDB and PostgreSQL: every column it defines."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.models import fixture
from tests.models.conftest import ModelsWorld, mart_names, read_mart

DATABASES = ("duckdb", "postgres")


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("mart", mart_names())
def test_each_mart_has_the_fixtures_exact_values(models_world: ModelsWorld, database: str, mart: str) -> None:
    expected = fixture.expected(models_world.fixture)[mart]
    rows = read_mart(models_world.pipelines[database], mart)
    assert set(rows) == set(expected), f"{mart} keys"
    for key, columns in expected.items():
        actual = {column: rows[key][column] for column in columns}
        assert same(actual, columns), f"{mart} row {key}: {actual} != {columns}"


def test_every_model_was_built_on_both(models_world: ModelsWorld) -> None:
    for database in DATABASES:
        report = models_world.reports[database]
        assert report.left_out == {}
        assert set(mart_names()) <= set(report.built)


def test_duckdb_and_postgres_give_identical_rows(models_world: ModelsWorld) -> None:
    for mart in mart_names():
        duck = read_mart(models_world.pipelines["duckdb"], mart)
        pg = read_mart(models_world.pipelines["postgres"], mart)
        assert duck.keys() == pg.keys(), mart
        for key, row in duck.items():
            assert row.keys() == pg[key].keys(), mart
            assert same(row, pg[key]), f"{mart} row {key}: {row} != {pg[key]}"


def same(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """Equal rows; floats equal to 1e-12 (durations are computed in floating point on each database)."""
    if left.keys() != right.keys():
        return False
    for column, value in left.items():
        other = right[column]
        if isinstance(value, float) and isinstance(other, float | int) and not isinstance(other, bool):
            if not math.isclose(value, other, rel_tol=1e-12):
                return False
        elif value != other or type(value) is not type(other) and not isinstance(other, float):
            return False
    return True
