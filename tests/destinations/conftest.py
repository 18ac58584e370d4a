"""One simulated workspace loaded into three real destinations, edited, then loaded again into each.

- DuckDB and PostgreSQL (a throwaway cluster, `tests/pg_cluster.py`) through the Python API, as library
  users load: `pipeline.run(intercom_source(...))`, no `loader_file_format`.
- dlt's filesystem destination (Parquet files in a local folder) through the CLI, `--destination
  filesystem`, as a process.

Every run reconciles deletes. The fixture is module-scoped: the loads happen once, each test checks one
property of the result.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

import intercom_sim
from sources.intercom import intercom_source
from tests.pg_cluster import PgCluster, postgres_cluster
from tests.robustness.support import cli_command, cli_env

TOKEN = "sim-token-destinations-4d1f0a"
DATASET = "intercom_data"
WORKSPACE = {"seed": 11, "contacts": 120, "companies": 30, "conversations": 50, "tickets": 10}
SOURCE_OPTIONS: dict[str, Any] = {
    "reconcile_deletes": True,
    "retry_backoff_seconds": 0.01,
    "export_poll_seconds": 0.02,
    "export_window_days": 365,
}
DESTINATIONS = ("duckdb", "postgres", "filesystem")


def normalized(value: Any) -> Any:
    """A value as every destination can be compared on: instants as unix seconds, decimals as floats."""
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, Decimal):
        return float(value)
    return value


class Reader:
    """Runs a SELECT on one destination's dataset over one lazily opened connection; rows come back
    normalized. `tables()` reads the database's information schema unless a reader knows better."""

    name: str
    connection: Any

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(normalized(value) for value in row) for row in self._fetch(sql)]

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def tables(self) -> set[str]:
        rows = self._fetch(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{DATASET}'"
        )
        return {row[0] for row in rows}

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


@dataclass
class DuckDBReader(Reader):
    path: Path
    name: str = "duckdb"
    connection: Any = None

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        if self.connection is None:
            self.connection = duckdb.connect(str(self.path), read_only=True)
            self.connection.execute(f"SET schema '{DATASET}'")
        return self.connection.execute(sql).fetchall()


@dataclass
class PostgresReader(Reader):
    cluster: PgCluster
    name: str = "postgres"

    connection: Any = None

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        if self.connection is None:
            self.connection = self.cluster.connect()
            self.connection.autocommit = True
            with self.connection.cursor() as cursor:
                cursor.execute(f"SET search_path TO {DATASET}")
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())


@dataclass
class ParquetReader(Reader):
    """The filesystem destination's dataset folder: one folder of Parquet files per table."""

    folder: Path
    name: str = "filesystem"

    connection: Any = None

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        if self.connection is None:
            self.connection = duckdb.connect()
            for table in self.tables():
                files = str(self.folder / table / "*.parquet")
                self.connection.execute(
                    f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files}', union_by_name = true)"
                )
        return self.connection.execute(sql).fetchall()

    def tables(self) -> set[str]:
        return {
            path.name
            for path in self.folder.iterdir()
            if path.is_dir() and not path.name.startswith("_dlt") and any(path.glob("*.parquet"))
        }


@dataclass
class Edits:
    """What the simulator was changed by between the two loads."""

    untagged: tuple[str, str] = ("", "")
    tagged: tuple[str, str] = ("", "")
    renamed: list[str] = field(default_factory=list)
    new_contact: str = ""
    deleted_contact: str = ""
    deleted_company: str = ""
    renamed_company: str = ""
    new_company: str = ""
    note: tuple[str, str] = ("", "")
    new_part: tuple[str, str] = ("", "")
    new_ticket: str = ""


@dataclass
class World:
    workspace: Any
    readers: dict[str, Reader]
    edits: Edits
    schema_tables: dict[str, Any]
    """The DuckDB pipeline's schema tables (keys and parents of every data table)."""
    outputs: list[str]
    """stdout and stderr of every CLI run."""
    pipelines_dirs: list[Path]
    seconds: dict[str, float]


def edit(workspace: Any) -> Edits:
    """Updates, new rows, a removed and an added tag, a deleted contact and company, new parts."""
    ws = workspace
    ws.clock.advance(900)
    edits = Edits()
    contacts = sorted(ws.contacts)
    tagged = [cid for cid in contacts if 2 <= len(ws.contact_tag_ids(cid)) <= 10]
    untag_contact = tagged[0]
    edits.untagged = (untag_contact, ws.contact_tag_ids(untag_contact)[0])
    ws.untag_contact(*edits.untagged)
    tag_contact = tagged[1]
    new_tag = next(tag for tag in sorted(ws.tags) if tag not in ws.contact_tag_ids(tag_contact))
    ws.tag_contact(tag_contact, new_tag)
    edits.tagged = (tag_contact, new_tag)
    edits.renamed = [cid for cid in contacts if cid not in tagged[:3]][:3]
    for number, cid in enumerate(edits.renamed):
        ws.update_contact(cid, name=f"Renamed {number} ✓", email=f"renamed-{number}@example.com")
    edits.deleted_contact = next(
        cid for cid in tagged[2:] if ws.contact_notes(cid) or ws.contact_company_ids(cid)
    )
    ws.delete_contact(edits.deleted_contact)
    edits.new_contact = ws.create_contact(email="new-person@example.com", name="New Person")
    ws.tag_contact(edits.new_contact, new_tag)
    noted = edits.renamed[0]
    edits.note = (noted, ws.add_note(noted, "<p>called back</p>"))
    companies = sorted(ws.companies)
    edits.renamed_company = companies[0]
    ws.update_company(companies[0], name="Renamed Co")
    edits.deleted_company = companies[1]
    ws.delete_company(companies[1])
    edits.new_company = ws.create_company(name="New Co")
    conversations = sorted(ws.conversations)
    edits.new_part = (conversations[0], ws.add_conversation_part(conversations[0], body="<p>a reply</p>"))
    ws.update_conversation(conversations[1], state="closed")
    ws.create_conversation(contact_id=edits.new_contact)
    tickets = sorted(ws.tickets)
    ws.add_ticket_part(tickets[0], body="<p>on it</p>")
    ws.update_ticket(tickets[1], open=False)
    edits.new_ticket = ws.create_ticket()
    ws.clock.advance(60)
    return edits


def start_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(*args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import time

    cluster = postgres_cluster(request)
    tmp = tmp_path_factory.mktemp("destinations")
    workspace = intercom_sim.Workspace(**WORKSPACE)
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0, export_delay_seconds=0.02)
    try:
        pipelines = {
            "duckdb": dlt.pipeline(
                "intercom_duckdb",
                destination=dlt.destinations.duckdb(str(tmp / "intercom.duckdb")),
                dataset_name=DATASET,
                pipelines_dir=str(tmp / "pipelines"),
            ),
            "postgres": dlt.pipeline(
                "intercom_postgres",
                destination=dlt.destinations.postgres(cluster.dsn()),
                dataset_name=DATASET,
                pipelines_dir=str(tmp / "pipelines"),
            ),
        }
        files = tmp / "files"
        cli_args = [
            "--base-url",
            server.base_url,
            "--destination",
            "filesystem",
            "--duckdb-file",
            str(files / "working.duckdb"),
            "--dataset",
            DATASET,
            "--pipelines-dir",
            str(files / "pipelines"),
        ]
        files.mkdir()
        env = cli_env(
            TOKEN,
            DESTINATION__FILESYSTEM__BUCKET_URL=(files / "bucket").as_uri(),
            **{f"SOURCES__INTERCOM__{key.upper()}": str(value) for key, value in SOURCE_OPTIONS.items()},
        )
        outputs: list[str] = []
        seconds: dict[str, float] = {}

        def load_all(label: str) -> None:
            """The CLI's run (its own process) goes on while this process loads DuckDB and Postgres."""
            cli_started = time.monotonic()
            cli = start_cli(cli_args, cwd=files, env=env)
            try:
                for name, pipeline in pipelines.items():
                    started = time.monotonic()
                    source = intercom_source(access_token=TOKEN, base_url=server.base_url, **SOURCE_OPTIONS)
                    pipeline.run(source)
                    seconds[f"{name} {label}"] = time.monotonic() - started
                stdout, stderr = cli.communicate(timeout=300)
            finally:
                if cli.poll() is None:
                    cli.kill()
                    cli.wait()
            seconds[f"filesystem {label} (CLI, concurrent)"] = time.monotonic() - cli_started
            outputs.append(stdout + stderr)
            assert cli.returncode == 0, stderr[-3000:]

        load_all("full")
        edits = edit(workspace)
        load_all("incremental")
        readers: dict[str, Reader] = {
            "duckdb": DuckDBReader(tmp / "intercom.duckdb"),
            "postgres": PostgresReader(cluster),
            "filesystem": ParquetReader(files / "bucket" / DATASET),
        }
        try:
            yield World(
                workspace,
                readers,
                edits,
                pipelines["duckdb"].default_schema.tables,
                outputs,
                [tmp / "pipelines", files / "pipelines"],
                seconds,
            )
        finally:
            for reader in readers.values():
                reader.close()
        if os.environ.get("INTERCOM_TEST_TIMINGS"):
            print("load seconds:", {key: round(value, 1) for key, value in seconds.items()})
    finally:
        server.stop()
