"""A destination that cannot be used is refused by the CLI with one line, before any request and any state.

Each case runs the CLI as a process against a simulator: an unknown `--destination`, missing settings, a
wrong PostgreSQL password (a real server, `tests/pg_cluster.py`) and a PostgreSQL port nobody listens on.
The line names the problem and what to set; no password appears in any output or file.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.pg_cluster import LOADER, LOADER_PASSWORD, PgCluster, postgres_cluster
from tests.robustness.support import MakeHarness, cli_env, harness_args, pipelines_dir, run_cli, stderr_lines
from tests.source.conftest import Harness

EXIT_CONFIG = 2
WRONG_PASSWORD = "wrong-Pw-9c2e11ab-never-shown"
DATASET = "bad_destination_data"
"""Not the dataset other tests load into the shared cluster: this one must never be created."""
SMALL = {"contacts": 20, "companies": 5, "conversations": 5}


@dataclass(frozen=True)
class BadDestination:
    name: str
    destination: str
    env: dict[str, str] = field(default_factory=dict)
    expected_in_message: tuple[str, ...] = ()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_refused(harness: Harness, case: BadDestination) -> tuple[list[str], str]:
    args = harness_args(harness) + ["--destination", case.destination, "--dataset", DATASET]
    completed = run_cli(args, cwd=harness.tmp_path, env=cli_env(**case.env))
    lines = stderr_lines(completed)
    assert completed.returncode == EXIT_CONFIG, completed.stderr
    assert len(lines) == 1 and lines[0].startswith("configuration error"), lines
    for expected in case.expected_in_message:
        assert expected in lines[0], lines[0]
    return lines, completed.stdout + completed.stderr


def assert_nothing_written(harness: Harness) -> None:
    folder = pipelines_dir(harness)
    assert not folder.exists() or not any(folder.iterdir()), sorted(folder.rglob("*"))
    assert not harness.duckdb_path.exists()
    assert not any(Path(harness.tmp_path).glob("*.duckdb"))
    assert harness.server.request_count == 0, harness.server.counters


def assert_no_secret_anywhere(harness: Harness, output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output
        for path in Path(harness.tmp_path).rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


CASES = [
    BadDestination(
        "unknown destination",
        "snowflakez",
        expected_in_message=("'snowflakez'", "--destination", "postgres", "filesystem"),
    ),
    BadDestination(
        "postgres without credentials",
        "postgres",
        expected_in_message=("postgres", "DESTINATION__POSTGRES__CREDENTIALS"),
    ),
    BadDestination(
        "postgres with a malformed connection string",
        "postgres",
        {"DESTINATION__POSTGRES__CREDENTIALS": f"postgresql://{LOADER}:{WRONG_PASSWORD}@127.0.0.1:no-port/x"},
        expected_in_message=("invalid setting", "DESTINATION__POSTGRES__CREDENTIALS"),
    ),
    BadDestination(
        "filesystem without a bucket",
        "filesystem",
        expected_in_message=("filesystem", "DESTINATION__FILESYSTEM__BUCKET_URL"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_destination_that_cannot_be_resolved_is_refused(
    make_harness: MakeHarness, case: BadDestination
) -> None:
    harness = make_harness(SMALL)
    _, output = run_refused(harness, case)
    assert_nothing_written(harness)
    assert_no_secret_anywhere(harness, output, WRONG_PASSWORD)


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> PgCluster:
    return postgres_cluster(request)


def dataset_exists(cluster: PgCluster) -> bool:
    connection: object = cluster.connect()
    try:
        with connection.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (DATASET,))
            return cursor.fetchone() is not None
    finally:
        connection.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("form", ["connection string", "separate fields"])
def test_a_wrong_postgres_password_is_refused_without_showing_it(
    make_harness: MakeHarness, cluster: PgCluster, form: str
) -> None:
    harness = make_harness(SMALL)
    if form == "connection string":
        env = {"DESTINATION__POSTGRES__CREDENTIALS": cluster.dsn(WRONG_PASSWORD)}
    else:
        prefix = "DESTINATION__POSTGRES__CREDENTIALS__"
        env = {
            f"{prefix}HOST": cluster.host,
            f"{prefix}PORT": str(cluster.port),
            f"{prefix}USERNAME": LOADER,
            f"{prefix}PASSWORD": WRONG_PASSWORD,
            f"{prefix}DATABASE": cluster.database,
        }
    case = BadDestination(
        "wrong password",
        "postgres",
        env,
        expected_in_message=("password authentication failed", "DESTINATION__POSTGRES__CREDENTIALS"),
    )
    _, output = run_refused(harness, case)
    assert_nothing_written(harness)
    assert_no_secret_anywhere(harness, output, WRONG_PASSWORD, LOADER_PASSWORD)
    assert not dataset_exists(cluster)


def test_a_postgres_server_that_is_down_is_refused(make_harness: MakeHarness) -> None:
    harness = make_harness(SMALL)
    port = closed_port()
    dsn = f"postgresql://{LOADER}:{WRONG_PASSWORD}@127.0.0.1:{port}/intercom"
    case = BadDestination(
        "server down",
        "postgres",
        {"DESTINATION__POSTGRES__CREDENTIALS": dsn},
        expected_in_message=("cannot connect to destination postgres", str(port), "DESTINATION__POSTGRES"),
    )
    _, output = run_refused(harness, case)
    assert_nothing_written(harness)
    assert_no_secret_anywhere(harness, output, WRONG_PASSWORD)
