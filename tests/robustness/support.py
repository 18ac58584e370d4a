"""Helpers of the robustness suite: the simulated workspace as the truth, cursors, and the CLI as a process.

Every check compares the DuckDB destination with the simulator's workspace (`Harness.workspace`), which is
the truth; cursors are read from the destination's committed pipeline state and from the local state file.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from dlt.common.versioned_state import decompress_state, json_decode_state

from tests.source.conftest import Harness

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "pipelines" / "intercom_pipeline.py"
TOKEN = "tok-robust-Zq8v3Kd1-5f3a9c2e71d04b8aa6e1-c0ffee"
SCHEMA = "intercom"
"""The source's schema name (pipelines may be named otherwise)."""
DATASET = "intercom_data"

RESOURCES = (
    "contacts",
    "companies",
    "conversations",
    "conversation_parts",
    "admins",
    "teams",
    "tags",
    "segments",
    "subscription_types",
    "data_attributes",
)
"""The resources the suite loads: every incremental core resource plus the replaced reference lists."""
REFERENCE_TABLES = ("admins", "teams", "tags", "segments", "subscription_types")
CURSOR_OWNERS = {
    "contacts": "contact_changes",
    "companies": "company_changes",
    "conversations": "conversations",
}
"""Incremental table -> the resource whose state holds its `updated_at` cursor."""
PART_CAP = 500
MakeHarness = Callable[..., Harness]
"""The `make_harness` fixture: `make_harness(sizes={...}, **simulator_knobs)`."""


# ------------------------------------------------------------------------------------------ the truth


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def loaded_updated_at(harness: Harness, table: str) -> dict[str, int]:
    return {row_id: epoch(stamp) for row_id, stamp in harness.query(f"SELECT id, updated_at FROM {table}")}


def truth_updated_at(harness: Harness, table: str) -> dict[str, int]:
    return {row_id: record["updated_at"] for row_id, record in getattr(harness.workspace, table).items()}


def differences(loaded: Mapping[str, Any], truth: Mapping[str, Any]) -> dict[str, list[str]]:
    """Ids missing from, extra in, or stale in `loaded` compared with `truth` (a few of each)."""
    stale = [key for key in truth.keys() & loaded.keys() if loaded[key] != truth[key]]
    return {
        name: sorted(ids)[:5]
        for name, ids in (
            ("missing", truth.keys() - loaded.keys()),
            ("extra", loaded.keys() - truth.keys()),
            ("stale", stale),
        )
        if ids
    }


def loaded_parts(harness: Harness) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for conversation_id, part_id in harness.query("SELECT conversation_id, id FROM conversation_parts"):
        parts.setdefault(conversation_id, set()).add(part_id)
    return parts


def assert_parts_loaded(harness: Harness, conversation_ids: Iterable[str]) -> None:
    """The newest 500 parts of each conversation are loaded, and no part the workspace does not have."""
    loaded = loaded_parts(harness)
    for conversation_id in conversation_ids:
        every = [part["id"] for part in harness.workspace.conversation_parts(conversation_id)]
        got = loaded.get(conversation_id, set())
        assert set(every[-PART_CAP:]) <= got <= set(every), f"parts of conversation {conversation_id}"


def table_keys(harness: Harness) -> dict[str, tuple[str, ...]]:
    """Data table -> the columns that identify a row: its primary key, or its place in the parent row."""
    stored = harness.query(
        f"SELECT schema FROM _dlt_version WHERE schema_name = '{SCHEMA}' ORDER BY inserted_at DESC LIMIT 1"
    )
    keys: dict[str, tuple[str, ...]] = {}
    for name, table in json.loads(stored[0][0])["tables"].items():
        columns = table.get("columns", {})
        primary = tuple(column for column, hints in columns.items() if hints.get("primary_key"))
        if primary:
            keys[name] = primary
        elif "_dlt_parent_id" in columns:
            keys[name] = ("_dlt_parent_id", "_dlt_list_idx")
    return keys


def destination_tables(harness: Harness) -> set[str]:
    """Tables of the dataset; empty when a killed first run left no database or no dataset yet."""
    if not harness.duckdb_path.exists():
        return set()
    with duckdb.connect(str(harness.duckdb_path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [DATASET]
        ).fetchall()
    return {row[0] for row in rows}


def assert_no_duplicate_keys(harness: Harness) -> None:
    present = destination_tables(harness)
    for table, key in table_keys(harness).items():
        if table not in present:
            continue
        columns = ", ".join(key)
        duplicates = harness.query(
            f"SELECT {columns}, count(*) FROM {table} GROUP BY {columns} HAVING count(*) > 1 LIMIT 3"
        )
        assert duplicates == [], f"duplicate {key} in {table}: {duplicates}"


def assert_matches_workspace(harness: Harness) -> None:
    """The destination holds exactly the workspace: every row, at its current `updated_at`, once."""
    for table in CURSOR_OWNERS:
        drift = differences(loaded_updated_at(harness, table), truth_updated_at(harness, table))
        assert not drift, f"{table} differs from the workspace: {drift}"
    assert_parts_loaded(harness, harness.workspace.conversations)
    for table in REFERENCE_TABLES:
        assert set(harness.ids(table)) == set(getattr(harness.workspace, table)), table
    assert harness.query("SELECT count(*) FROM data_attributes") == [
        (len(harness.workspace.data_attributes),)
    ]
    assert_no_duplicate_keys(harness)


# --------------------------------------------------------------------------------------------- cursors


def committed_state(harness: Harness) -> dict[str, Any] | None:
    """The pipeline state of the newest completed load in the destination (what a fresh runner restores).

    Ordered by load id, as dlt's own `get_stored_state` does: two loads may carry the same state version
    (a package left by a killed run, loaded by the next run before its own extract).
    """
    if not {"_dlt_pipeline_state", "_dlt_loads"} <= destination_tables(harness):
        return None
    rows = harness.query(
        "SELECT s.state FROM _dlt_pipeline_state s JOIN _dlt_loads l ON l.load_id = s._dlt_load_id"
        f" WHERE l.status = 0 AND s.pipeline_name = '{harness.pipeline_name}' ORDER BY l.load_id DESC LIMIT 1"
    )
    return decompress_state(rows[0][0]) if rows else None


def local_state(harness: Harness) -> dict[str, Any] | None:
    path = pipelines_dir(harness) / harness.pipeline_name / "state.json"
    return json_decode_state(path.read_text(encoding="utf-8")) if path.exists() else None


def cursors(state: Mapping[str, Any] | None) -> dict[str, int]:
    """Incremental table -> its `updated_at` cursor (unix seconds) in a pipeline state."""
    resources = (state or {}).get("sources", {}).get("intercom", {}).get("resources", {})
    found: dict[str, int] = {}
    for table, owner in CURSOR_OWNERS.items():
        value = resources.get(owner, {}).get("incremental", {}).get("updated_at", {}).get("last_value")
        if value is not None:
            found[table] = epoch(value)
    return found


def assert_cursors_behind_loaded_data(harness: Harness, table_cursors: Mapping[str, int]) -> None:
    """No cursor has passed data the destination lacks.

    Every workspace row whose `updated_at` is at or before the cursor has not changed since the run that
    stored the cursor, so the destination must hold it at exactly that `updated_at` (a conversation with its
    parts); the cursor itself is never beyond the newest `updated_at` loaded.
    """
    for table, cursor in table_cursors.items():
        loaded = loaded_updated_at(harness, table)
        assert loaded and cursor <= max(loaded.values()), f"{table} cursor {cursor} is past its data"
        behind = {row_id: at for row_id, at in truth_updated_at(harness, table).items() if at <= cursor}
        drift = differences({row_id: loaded.get(row_id) for row_id in behind}, behind)
        assert not drift, f"{table}: the cursor {cursor} passed rows never loaded: {drift}"
        if table == "conversations":
            assert_parts_loaded(harness, behind)


def assert_cursors_at_truth(harness: Harness) -> None:
    """After a complete run the committed and local cursors agree and sit on the newest change."""
    committed, local = cursors(committed_state(harness)), cursors(local_state(harness))
    newest = {table: max(truth_updated_at(harness, table).values()) for table in CURSOR_OWNERS}
    assert committed == local == newest, f"committed {committed}, local {local}, newest change {newest}"


# ------------------------------------------------------------------------------------------- workspace


def mutate(harness: Harness, rng: random.Random) -> None:
    """A few realistic changes after the clock moves on: updates, new records, new conversation parts."""
    ws = harness.workspace
    ws.clock.advance(rng.randint(60, 900))
    contacts, conversations = list(ws.contacts), list(ws.conversations)
    for contact_id in rng.sample(contacts, 3):
        ws.update_contact(contact_id, name=f"Renamed {rng.randrange(10**6)} ✓")
    ws.create_contact(email=f"new-{rng.randrange(10**9)}@example.com", name="New Person")
    ws.update_company(rng.choice(list(ws.companies)), name=f"Renamed Co {rng.randrange(10**6)}")
    ws.create_company(name=f"New Co {rng.randrange(10**6)}")
    for conversation_id in rng.sample(conversations, 2):
        ws.add_conversation_part(conversation_id, body="<p>a new reply</p>")
    ws.update_conversation(rng.choice(conversations), state=rng.choice(["open", "closed", "snoozed"]))
    ws.create_conversation(contact_id=rng.choice(contacts))


# ------------------------------------------------------------------------------------------------- CLI


def pipelines_dir(harness: Harness) -> Path:
    return harness.tmp_path / "pipelines"


def cli_env(token: str = TOKEN, **extra: str) -> dict[str, str]:
    """A CLI run's environment: the token the dlt way, no telemetry, none of the caller's dlt settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "RUNTIME__", "DESTINATION__", "NORMALIZE__", "LOAD__"))
    }
    env.update(SOURCES__INTERCOM__ACCESS_TOKEN=token, RUNTIME__DLTHUB_TELEMETRY="false", **extra)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, str(CLI), *args]


def harness_args(harness: Harness, resources: Iterable[str] = RESOURCES) -> list[str]:
    """CLI arguments loading `resources` from the harness's simulator into the harness's destination."""
    return [
        "--base-url",
        harness.server.base_url,
        "--pipelines-dir",
        str(pipelines_dir(harness)),
        "--pipeline-name",
        harness.pipeline_name,
        "--duckdb-file",
        str(harness.duckdb_path),
        "--dataset",
        DATASET,
        "--resources",
        ",".join(resources),
    ]


def run_cli(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        env=dict(env or cli_env()),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def stderr_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.strip()]


def start_cli(harness: Harness, resources: Iterable[str] = RESOURCES) -> subprocess.Popen[bytes]:
    """A CLI run in the background; its output goes to `cli_runs.log` in the harness's folder."""
    with (harness.tmp_path / "cli_runs.log").open("ab") as output:
        return subprocess.Popen(
            cli_command(*harness_args(harness, resources)),
            cwd=harness.tmp_path,
            env=cli_env(),
            stdout=output,
            stderr=output,
        )


def kill_when(process: subprocess.Popen[bytes], condition: Callable[[], bool], delay: float = 0.0) -> bool:
    """SIGKILLs `process` once `condition` holds and `delay` more seconds passed; False if it ended first."""
    deadline: float | None = None
    while process.poll() is None:
        if deadline is None and condition():
            deadline = time.monotonic() + delay
        if deadline is not None and time.monotonic() >= deadline:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            return True
        time.sleep(0.001)
    return False
