"""Fixtures for source tests: a simulated workspace over real HTTP and a DuckDB pipeline in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

import intercom_sim
from sources.intercom import intercom_source, settings

TOKEN = "sim-token-7c1e55d0-source-tests"
SMALL = {"seed": 7, "contacts": 120, "companies": 30, "conversations": 60, "tickets": 10}


@dataclass
class Harness:
    """One simulated workspace, its server, and one pipeline loading it into DuckDB."""

    workspace: Any
    server: Any
    tmp_path: Path
    pipeline_name: str = "intercom_test"
    source_options: dict[str, Any] = field(default_factory=dict)
    _reader: Any = field(default=None, repr=False)

    @property
    def duckdb_path(self) -> Path:
        return self.tmp_path / "intercom.duckdb"

    def pipeline(self) -> dlt.Pipeline:
        return dlt.pipeline(
            pipeline_name=self.pipeline_name,
            destination=dlt.destinations.duckdb(str(self.duckdb_path)),
            dataset_name="intercom_data",
            pipelines_dir=str(self.tmp_path / "pipelines"),
        )

    def source(self, resources: tuple[str, ...] | None = None, **options: Any) -> Any:
        kwargs = {
            "access_token": TOKEN,
            "base_url": self.server.base_url,
            "retry_backoff_seconds": 0.01,
            "export_poll_seconds": 0.02,
            **self.source_options,
            **options,
        }
        source = intercom_source(**kwargs)
        return source.with_resources(*resources) if resources else source

    def run(self, resources: tuple[str, ...] | None = None, **options: Any) -> Any:
        return self.pipeline().run(self.source(resources, **options))

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read-only connection for every `query` inside (each otherwise opens the database anew)."""
        with duckdb.connect(str(self.duckdb_path), read_only=True) as connection:
            connection.execute("SET schema 'intercom_data'")
            self._reader = connection
            try:
                yield
            finally:
                self._reader = None

    @property
    def is_reading(self) -> bool:
        return self._reader is not None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self._reader is not None:
            return self._reader.execute(sql).fetchall()
        with duckdb.connect(str(self.duckdb_path), read_only=True) as connection:
            connection.execute("SET schema 'intercom_data'")
            return connection.execute(sql).fetchall()

    def ids(self, table: str, column: str = "id") -> list[str]:
        return [row[0] for row in self.query(f"SELECT {column} FROM {table}")]

    def tables(self) -> set[str]:
        return {
            row[0]
            for row in self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'intercom_data'"
            )
        }


def start_harness(tmp_path: Path, **workspace_sizes: Any) -> tuple[Harness, Any]:
    workspace = intercom_sim.Workspace(**{**SMALL, **workspace_sizes})
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0, export_delay_seconds=0.05)
    return Harness(workspace, server, tmp_path), server


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    built, server = start_harness(tmp_path)
    try:
        yield built
    finally:
        server.stop()


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices of 150 rows, slicing from 300 and 8 at once: a few hundred records make many slices."""
    monkeypatch.setattr(settings, "SLICE_ROWS", 150)
    monkeypatch.setattr(settings, "SLICE_MIN_ROWS", 300)
    monkeypatch.setattr(settings, "SLICE_CONCURRENCY", 8)
