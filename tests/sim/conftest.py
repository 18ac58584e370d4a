"""Fixtures for the simulator's own tests: small workspaces and a tiny keep-alive JSON client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sim_client import Client

from intercom_sim import SimServer, Workspace, start


@pytest.fixture(scope="session")
def shared_ws() -> Workspace:
    """A read-only workspace shared by tests that do not mutate."""
    return Workspace(seed=7, contacts=400, companies=60, conversations=80, tickets=30)


@pytest.fixture(scope="session")
def shared_server(shared_ws: Workspace) -> Iterator[SimServer]:
    server = start(shared_ws, port=0, rate_limit=0)
    yield server
    server.stop()


@pytest.fixture()
def client(shared_server: SimServer) -> Client:
    return Client(shared_server.base_url)


@pytest.fixture()
def fresh() -> Iterator[tuple[Workspace, SimServer, Client]]:
    """A private workspace + server for tests that mutate data or change knobs."""
    ws = Workspace(seed=11, contacts=120, companies=20, conversations=30, tickets=10)
    server = start(ws, port=0, rate_limit=0)
    yield ws, server, Client(server.base_url)
    server.stop()
