"""The hand-built fixture (fixture.py) loaded over HTTP into DuckDB and a real PostgreSQL, with models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest

import intercom_sim
from sources.intercom import build_models, intercom_source
from sources.intercom.models import ModelsReport, model_catalogue, model_resources
from tests.models import fixture
from tests.pg_cluster import postgres_cluster

TOKEN = "sim-token-models-8c2e"
DATASET = "intercom_models"
RESOURCES = model_resources()
MART_KEYS = {
    "intercom__conversation_metrics": "conversation_id",
    "intercom__admin_metrics": "admin_id",
    "intercom__team_metrics": "team_id",
    "intercom__company_metrics": "company_id",
    "intercom__contact_enhanced": "contact_id",
    "intercom__daily_conversations": "date_day",
    "intercom__parts_completeness": "conversation_id",
}


def normalized(value: Any) -> Any:
    """Comparable across databases: instants and days as unix seconds, decimals as floats, lists as lists."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def read_mart(pipeline: dlt.Pipeline, mart: str) -> dict[Any, dict[str, Any]]:
    """A model's rows keyed by its grain's key, every value normalized."""
    with pipeline.sql_client() as client, client.execute_query(f"SELECT * FROM {mart}") as cursor:
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, map(normalized, row), strict=True)) for row in cursor.fetchall()]
    by_key = {row[MART_KEYS[mart]]: row for row in rows}
    assert len(by_key) == len(rows), f"{mart}: a key appears twice"
    return by_key


def source(base_url: str, **options: Any) -> Any:
    return intercom_source(access_token=TOKEN, base_url=base_url, retry_backoff_seconds=0.01, **options)


@dataclass
class ModelsWorld:
    fixture: fixture.Fixture
    server: Any
    pipelines: dict[str, dlt.Pipeline]
    reports: dict[str, ModelsReport]
    tmp: Path

    def load(self, name: str, **options: Any) -> None:
        self.pipelines[name].run(source(self.server.base_url, **options).with_resources(*RESOURCES))


@pytest.fixture(scope="module")
def models_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModelsWorld]:
    cluster = postgres_cluster(request)
    tmp = tmp_path_factory.mktemp("models")
    built = fixture.build()
    server = intercom_sim.start(built.workspace, port=0, token=TOKEN, rate_limit=0)
    pipelines = {
        "duckdb": dlt.pipeline(
            "models_duckdb",
            destination=dlt.destinations.duckdb(str(tmp / "models.duckdb")),
            dataset_name=DATASET,
            pipelines_dir=str(tmp / "pipelines"),
        ),
        "postgres": dlt.pipeline(
            "models_postgres",
            destination=dlt.destinations.postgres(cluster.dsn()),
            dataset_name=DATASET,
            pipelines_dir=str(tmp / "pipelines"),
        ),
    }
    world = ModelsWorld(built, server, pipelines, {}, tmp)
    try:
        for name, pipeline in pipelines.items():
            world.load(name)
            world.reports[name] = build_models(pipeline)
        yield world
    finally:
        server.stop()


def mart_names() -> list[str]:
    return [model.name for model in model_catalogue() if model.layer == "marts"]
