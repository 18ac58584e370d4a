"""A row updated while a run reads it is read twice in that run, in two versions: the newest must be loaded.

Three ways a run meets a row twice, each made to happen with the simulator between two pages:

- the ascending conversations search reaches an updated conversation again at its new `updated_at`;
- a sliced contacts backfill reads a contact in the oldest slice, then again in the open newest one;
- the companies scroll expires under the connector and restarts from scratch.

The older version loaded would be lost for good: the cursor has passed the newer `updated_at`, so the next
run drops the re-read as unchanged. Each case runs on DuckDB and PostgreSQL; the conversations one both as
a first load (appended while no key repeats, loads.py) and as an incremental merge.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

import intercom_sim
from intercom_sim import SimServer
from sources.intercom import intercom_source, settings
from tests.pg_cluster import postgres_cluster

TOKEN = "sim-token-read-twice-9b2e"
NEWER = "the newer version"


@dataclass
class Loads:
    """One simulated workspace and one pipeline loading it into `destination` (duckdb or postgres)."""

    workspace: Any
    server: Any
    destination: Any
    dataset: str
    query: Callable[[str], list[tuple[Any, ...]]]
    pipelines_dir: Path

    def run(self, *resources: str) -> None:
        source = intercom_source(
            access_token=TOKEN, base_url=self.server.base_url, retry_backoff_seconds=0.01
        ).with_resources(*resources)
        pipeline = dlt.pipeline(
            "read_twice",
            destination=self.destination,
            dataset_name=self.dataset,
            pipelines_dir=str(self.pipelines_dir),
        )
        pipeline.run(source)

    def column(self, table: str, column: str, row_id: str) -> Any:
        [(value,)] = self.query(f"SELECT {column} FROM {self.dataset}.{table} WHERE id = '{row_id}'")
        return value

    def assert_one_row_per_id(self, table: str, ids: Iterator[str] | list[str]) -> None:
        [(rows, distinct)] = self.query(f"SELECT count(*), count(DISTINCT id) FROM {self.dataset}.{table}")
        assert rows == distinct == len(set(ids))


@pytest.fixture(params=["duckdb", "postgres"])
def make_loads(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Loads]]:
    servers: list[Any] = []
    closers: list[Callable[[], None]] = []
    dataset = f"read_twice_{request.node.name.split('[')[0][-20:]}_{int(time.time() * 1000) % 10**9}"

    def make(sizes: dict[str, int], **knobs: Any) -> Loads:
        workspace = intercom_sim.Workspace(**{"seed": 5, "tickets": 0, **sizes})
        server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0, **knobs)
        servers.append(server)
        if request.param == "duckdb":
            path = str(tmp_path / "read_twice.duckdb")
            destination, query = dlt.destinations.duckdb(path), _duckdb_query(path)
        else:
            cluster = postgres_cluster(request)
            connection: Any = cluster.connect()
            connection.autocommit = True
            closers.append(connection.close)
            destination, query = dlt.destinations.postgres(cluster.dsn()), _postgres_query(connection)
        return Loads(workspace, server, destination, dataset, query, tmp_path / "pipelines")

    yield make
    for close in closers:
        close()
    for server in servers:
        server.stop()


def _duckdb_query(path: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(path, read_only=True) as connection:
            return connection.execute(sql).fetchall()

    return query


def _postgres_query(connection: Any) -> Callable[[str], list[tuple[Any, ...]]]:
    def query(sql: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    return query


def served(response: Any, object_id: str) -> bool:
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    return f'"{object_id}"'.encode() in body


def oldest(objects: dict[str, Any]) -> str:
    return min(objects.values(), key=lambda obj: (obj["updated_at"], obj["id"]))["id"]


def test_a_conversation_updated_between_search_pages_loads_its_newer_version(
    make_loads: Callable[..., Loads], monkeypatch: pytest.MonkeyPatch
) -> None:
    victims: list[str] = []
    updated: list[str] = []
    search = SimServer.search_conversations

    def update_after_serving(server: SimServer, request: Any) -> Any:
        """Once the victim's page is served, it is updated (a new title, a new part): it now sorts last."""
        response = search(server, request)
        if victims and served(response, victims[-1]):
            victim = victims.pop()
            ws.clock.advance(60)
            ws.update_conversation(victim, title=NEWER)
            ws.add_conversation_part(victim, body="written while the run read")
            updated.append(victim)
        return response

    monkeypatch.setattr(SimServer, "search_conversations", update_after_serving)  # before the server starts
    loads = make_loads({"contacts": 30, "companies": 5, "conversations": 320})
    ws = loads.workspace

    # a first load: the table is new, so it would be appended; the key read twice makes it merge
    victims.append(oldest(ws.conversations))
    loads.run("conversations", "conversation_parts")
    assert updated and loads.column("conversations", "title", updated[-1]) == NEWER
    loads.assert_one_row_per_id("conversations", list(ws.conversations))
    assert_parts_exact(loads, updated[-1])

    # an incremental run: 200 conversations changed, the oldest of them updated again mid-run
    for conversation_id in sorted(ws.conversations)[:200]:
        ws.clock.advance(1)
        ws.update_conversation(conversation_id, title="changed before the run")
    changed = sorted(ws.conversations)[:200]
    victims.append(min(changed, key=lambda cid: ws.conversations[cid]["updated_at"]))
    loads.run("conversations", "conversation_parts")
    assert loads.column("conversations", "title", updated[-1]) == NEWER
    loads.assert_one_row_per_id("conversations", list(ws.conversations))
    assert_parts_exact(loads, updated[-1])


def assert_parts_exact(loads: Loads, conversation_id: str) -> None:
    expected = {part["id"] for part in loads.workspace.conversation_parts(conversation_id)}
    rows = loads.query(
        f"SELECT id FROM {loads.dataset}.conversation_parts WHERE conversation_id = '{conversation_id}'"
    )
    assert sorted(row[0] for row in rows) == sorted(expected)


def test_a_contact_updated_during_a_sliced_backfill_loads_its_newer_version(
    make_loads: Callable[..., Loads], monkeypatch: pytest.MonkeyPatch
) -> None:
    # small slices read one request at a time: spans are counted by their first pages in date order, so the
    # open newest slice's page comes after the victim's
    monkeypatch.setattr(settings, "SLICE_ROWS", 150)
    monkeypatch.setattr(settings, "SLICE_MIN_ROWS", 300)
    monkeypatch.setattr(settings, "SLICE_CONCURRENCY", 1)
    updated: list[str] = []
    search = SimServer.search_contacts

    def update_after_serving(server: SimServer, request: Any) -> Any:
        response = search(server, request)
        page_read = (request.json().get("pagination") or {}).get("per_page") == settings.PER_PAGE
        if page_read and not updated and served(response, victim):
            ws.clock.advance(60)
            ws.update_contact(victim, name=NEWER)
            updated.append(victim)
        return response

    monkeypatch.setattr(SimServer, "search_contacts", update_after_serving)
    loads = make_loads({"contacts": 700, "companies": 5, "conversations": 5})
    ws = loads.workspace
    victim = oldest(ws.contacts)
    loads.run("contacts")
    assert updated == [victim]
    assert loads.column("contacts", "name", victim) == NEWER
    loads.assert_one_row_per_id("contacts", list(ws.contacts))


def test_a_company_updated_before_the_scroll_restarts_loads_its_newer_version(
    make_loads: Callable[..., Loads], monkeypatch: pytest.MonkeyPatch
) -> None:
    ttl = 0.3
    updated: list[str] = []
    scroll = SimServer.scroll_companies

    def update_then_expire(server: SimServer, request: Any) -> Any:
        """Before the second page, once: the victim is updated and the scroll left idle past its TTL."""
        if request.query.get("scroll_param") and not updated:
            ws.clock.advance(60)
            ws.update_company(victim, name=NEWER)
            updated.append(victim)
            time.sleep(3 * ttl)
        return scroll(server, request)

    monkeypatch.setattr(SimServer, "scroll_companies", update_then_expire)
    loads = make_loads(
        {"contacts": 20, "companies": 40, "conversations": 5}, scroll_page_size=10, scroll_ttl_seconds=ttl
    )
    ws = loads.workspace
    victim = next(iter(ws.companies))  # on the scroll's first page
    loads.run("companies")
    assert updated == [victim]
    assert loads.column("companies", "name", victim) == NEWER
    loads.assert_one_row_per_id("companies", list(ws.companies))
