"""Fixtures of the robustness suite: simulated workspaces with knobs, each loaded into DuckDB in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import intercom_sim
from tests.robustness.support import TOKEN, MakeHarness
from tests.source.conftest import SMALL, Harness


@pytest.fixture(autouse=True)
def no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """dlt would report every in-process run to its telemetry endpoint."""
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[MakeHarness]:
    """Builds a harness: `make_harness(sizes={...}, **knobs)`; every server it starts is stopped afterwards.

    The pipeline is named like the CLI's default (`intercom`), and the token is the suite's distinctive one.
    """
    servers: list[Any] = []

    def make(sizes: dict[str, int] | None = None, **knobs: Any) -> Harness:
        workspace = intercom_sim.Workspace(**{**SMALL, **(sizes or {})})
        server = intercom_sim.start(workspace, port=0, token=TOKEN, **{"rate_limit": 0, **knobs})
        servers.append(server)
        return Harness(
            workspace, server, tmp_path, pipeline_name="intercom", source_options={"access_token": TOKEN}
        )

    yield make
    for server in servers:
        server.stop()
