"""Bad input is refused by the CLI with one line and a non-zero status, before any request and any state.

Each case runs the CLI as a process against a simulator; outbound proxies point at a local listener, so a
request to anywhere else (a real Intercom region, a non-loopback host) would be counted too.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.robustness.support import (
    RESOURCES,
    MakeHarness,
    cli_env,
    harness_args,
    pipelines_dir,
    run_cli,
    stderr_lines,
)
from tests.source.conftest import Harness

EXIT_CONFIG, EXIT_AUTH = 2, 3
WRONG_TOKEN = "tok-wrong-0a1b2c3d4e5f"


@dataclass(frozen=True)
class BadInput:
    name: str
    args: tuple[str, ...]
    use_simulator: bool = True
    resources: tuple[str, ...] = RESOURCES
    expected_in_message: str = ""


CASES = [
    BadInput("unknown region", ("--region", "mars"), use_simulator=False, expected_in_message="mars"),
    BadInput("malformed start date", ("--start-date", "2024-13-45"), expected_in_message="2024-13-45"),
    BadInput(
        "malformed end date", ("--start-date", "2024-01-01", "--end-date", "soon"), expected_in_message="soon"
    ),
    BadInput("a duration as date", ("--start-date", "P1D"), expected_in_message="P1D"),
    BadInput("inverted dates", ("--start-date", "2024-02-01", "--end-date", "2024-01-01")),
    BadInput("end date alone", ("--end-date", "2024-01-01"), expected_in_message="--start-date"),
    BadInput("unknown resource", (), resources=("contacts", "invoices"), expected_in_message="invoices"),
    BadInput("no resource", (), resources=(" ",)),
    BadInput(
        "plain http to a non-loopback host",
        ("--base-url", "http://intercom-proxy.invalid"),
        use_simulator=False,
        expected_in_message="http://intercom-proxy.invalid",
    ),
    BadInput("not an http url", ("--base-url", "ftp://api.intercom.io"), use_simulator=False),
]


@contextmanager
def outbound_proxy() -> Iterator[socket.socket]:
    """A listener standing in for every non-loopback host: connections to it are requests that escaped."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        yield listener
    finally:
        listener.close()


def connections(listener: socket.socket) -> int:
    accepted = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return accepted
        connection.close()
        accepted += 1


def proxied_env(listener: socket.socket, token: str | None = None) -> dict[str, str]:
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    routes = {"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1,localhost"}
    return cli_env(token, **routes) if token else cli_env(**routes)


def cli_args(harness: Harness, case: BadInput) -> list[str]:
    if case.use_simulator:
        return harness_args(harness, case.resources) + list(case.args)
    located = ["--pipelines-dir", str(pipelines_dir(harness)), "--duckdb-file", str(harness.duckdb_path)]
    return located + list(case.args)


def assert_nothing_written(harness: Harness) -> None:
    assert not pipelines_dir(harness).exists() or not any(pipelines_dir(harness).iterdir())
    assert not harness.duckdb_path.exists()
    assert not any(Path(harness.tmp_path).glob("*.duckdb"))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_before_any_request(make_harness: MakeHarness, case: BadInput) -> None:
    harness = make_harness({"contacts": 20, "companies": 5, "conversations": 5})
    with outbound_proxy() as listener:
        completed = run_cli(cli_args(harness, case), cwd=harness.tmp_path, env=proxied_env(listener))
        escaped = connections(listener)
    lines = stderr_lines(completed)
    assert completed.returncode == EXIT_CONFIG, completed.stderr
    assert len(lines) == 1 and lines[0].startswith("configuration error"), lines
    assert case.expected_in_message in lines[0]
    assert harness.server.request_count == 0 and escaped == 0
    assert_nothing_written(harness)


def test_a_wrong_token_is_refused_after_one_request(make_harness: MakeHarness) -> None:
    harness = make_harness({"contacts": 20, "companies": 5, "conversations": 5})
    with outbound_proxy() as listener:
        completed = run_cli(
            harness_args(harness), cwd=harness.tmp_path, env=proxied_env(listener, WRONG_TOKEN)
        )
        escaped = connections(listener)
    lines = stderr_lines(completed)
    assert completed.returncode == EXIT_AUTH, completed.stderr
    assert len(lines) == 1 and lines[0].startswith("authentication failed"), lines
    assert WRONG_TOKEN not in completed.stderr + completed.stdout
    assert harness.server.counters == {"GET /me": 1} and harness.server.status_counts == {401: 1}
    assert harness.server.request_count == 1 and escaped == 0
    assert_nothing_written(harness)
