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


def has_column(harness: Harness, table: str, column: str) -> bool:
    found = harness.query(
        "SELECT count(*) FROM information_schema.columns"
        f" WHERE table_schema = '{DATASET}' AND table_name = '{table}' AND column_name = '{column}'"
    )
    return bool(found[0][0])


def loaded_updated_at(harness: Harness, table: str, live_only: bool = True) -> dict[str, int]:
    """Row id -> `updated_at` in the destination; `live_only` leaves out rows marked deleted."""
    live = live_only and has_column(harness, table, "deleted_at")
    where = " WHERE deleted_at IS NULL" if live else ""
    rows = harness.query(f"SELECT id, updated_at FROM {table}{where}")
    return {row_id: epoch(stamp) for row_id, stamp in rows}


def hidden_contacts(harness: Harness) -> set[str]:
    """Contacts the search does not show yet: created less than `search_lag_seconds` ago (sim clock)."""
    lag, now = harness.server.knobs.search_lag_seconds, harness.workspace.clock.now()
    created = harness.workspace.contact_created_clock
    return {cid for cid, at in created.items() if at + lag > now and cid in harness.workspace.contacts}


def searchable_at(harness: Harness, contact_id: str, moment: int) -> bool:
    """Whether the search showed the contact at `moment` (sim clock), with today's index lag."""
    lag = harness.server.knobs.search_lag_seconds
    return harness.workspace.searchable_since(contact_id) + lag <= moment


def truth_records(harness: Harness, table: str) -> dict[str, Any]:
    """The records of `table` the API could show now: contacts the search has not indexed yet left out."""
    records: dict[str, Any] = getattr(harness.workspace, table)
    if table != "contacts":
        return records
    hidden = hidden_contacts(harness)
    return {row_id: record for row_id, record in records.items() if row_id not in hidden}


def truth_updated_at(harness: Harness, table: str) -> dict[str, int]:
    return {row_id: record["updated_at"] for row_id, record in truth_records(harness, table).items()}


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
    sql = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{DATASET}'"
    if harness.is_reading:
        return {row[0] for row in harness.query(sql)}
    with duckdb.connect(str(harness.duckdb_path), read_only=True) as connection:  # the dataset may not exist
        return {row[0] for row in connection.execute(sql).fetchall()}


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


def plain(value: Any) -> Any:
    """A loaded value comparable with the workspace's: timestamps as unix seconds."""
    return epoch(value) if isinstance(value, datetime) else value


def assert_rows(harness: Harness, table: str, sql: str, truth: set[tuple[Any, ...]]) -> None:
    """`sql` over `table` gives exactly the rows of `truth`, each once (a table not created yet is empty)."""
    loaded = harness.query(sql) if table in destination_tables(harness) else []
    rows = [tuple(plain(value) for value in row) for row in loaded]
    assert len(rows) == len(set(rows)), f"{table}: a row appears twice"
    missing, extra = sorted(truth - set(rows), key=repr)[:3], sorted(set(rows) - truth, key=repr)[:3]
    assert not missing and not extra, f"{table} differs from the workspace: missing {missing}, extra {extra}"


def live_where(harness: Harness, table: str) -> str:
    return " WHERE deleted_at IS NULL" if has_column(harness, table, "deleted_at") else ""


def assert_equals_truth(harness: Harness) -> None:
    """Every table the soak loads holds what the API could show now, with `reconcile_deletes` on.

    Contacts and companies: live rows with their compared values; a row marked deleted is one the API no
    longer returns. Memberships, subscriptions and notes of the live, searchable contacts; segments of live
    companies; conversations and tickets with their parts (the newest 500); activity logs, export rows and
    the reference lists. No tombstone row is left.
    """
    ws = harness.workspace
    contacts, companies = truth_records(harness, "contacts"), ws.companies
    assert_rows(
        harness,
        "contacts",
        f"SELECT id, name, email, updated_at FROM contacts{live_where(harness, 'contacts')}",
        {(cid, c["name"], c["email"], c["updated_at"]) for cid, c in contacts.items()},
    )
    marked = (
        harness.query("SELECT id FROM contacts WHERE deleted_at IS NOT NULL")
        if live_where(harness, "contacts")
        else []
    )
    assert {row[0] for row in marked} <= set(ws.removed_contacts), "a live contact is marked deleted"
    assert_rows(
        harness,
        "companies",
        f"SELECT id, name, updated_at FROM companies{live_where(harness, 'companies')}",
        {(company_id, c["name"], c["updated_at"]) for company_id, c in companies.items()},
    )
    memberships = {
        "contact_tags": ("tag_id", lambda cid: [(tag,) for tag in ws.contact_tag_ids(cid)]),
        "contact_companies": ("company_id", lambda cid: [(co,) for co in ws.contact_company_ids(cid)]),
        "contact_subscriptions": ("subscription_type_id, consent_type", ws.contact_subscriptions),
        "notes": ("id, body", lambda cid: [(n["id"], n["body"]) for n in ws.contact_notes(cid)]),
    }
    for table, (columns, of_contact) in memberships.items():
        assert_rows(
            harness,
            table,
            f"SELECT contact_id, {columns} FROM {table}",
            {(cid, *row) for cid in contacts for row in of_contact(cid)},
        )
    assert_rows(
        harness,
        "company_segments",
        "SELECT company_id, segment_id FROM company_segments",
        {(company_id, segment) for company_id in companies for segment in ws.company_segment_ids(company_id)},
    )
    assert_rows(
        harness,
        "conversations",
        "SELECT id, state, updated_at FROM conversations",
        {(cid, c["state"], c["updated_at"]) for cid, c in ws.conversations.items()},
    )
    assert_rows(
        harness,
        "tickets",
        "SELECT id, updated_at FROM tickets",
        {(tid, t["updated_at"]) for tid, t in ws.tickets.items()},
    )
    assert_newest_parts(
        harness, "conversation_parts", "conversation_id", ws.conversations, ws.conversation_parts
    )
    assert_newest_parts(harness, "ticket_parts", "ticket_id", ws.tickets, ws.ticket_parts)
    assert_rows(
        harness,
        "admin_activity_logs",
        "SELECT id, created_at FROM admin_activity_logs",
        {(log_id, log["created_at"]) for log_id, log in ws.activity_logs.items()},
    )
    assert_rows(
        harness,
        "content_exports",
        "SELECT receipt_id, received_at FROM content_exports",
        {(row["receipt_id"], row["received_at"]) for row in ws.export_rows},
    )
    for table in REFERENCE_TABLES:
        assert_rows(harness, table, f"SELECT id FROM {table}", {(key,) for key in getattr(ws, table)})
    assert harness.query("SELECT count(*) FROM data_attributes") == [(len(ws.data_attributes),)]
    for table in ("contact_tags", "contact_companies", "contact_subscriptions", "notes", "company_segments"):
        if table in destination_tables(harness):
            left = harness.query(f"SELECT count(*) FROM {table} WHERE _tombstone IS NOT NULL")
            assert left == [(0,)], f"{table} keeps tombstone rows"


def assert_newest_parts(
    harness: Harness,
    table: str,
    parent_column: str,
    parents: Iterable[str],
    parts_of: Callable[[str], list[dict[str, Any]]],
) -> None:
    """Each parent's newest 500 parts are loaded once, and no part the workspace does not have."""
    loaded: dict[str, list[str]] = {}
    rows = (
        harness.query(f"SELECT {parent_column}, id FROM {table}")
        if table in destination_tables(harness)
        else []
    )
    for parent_id, part_id in rows:
        loaded.setdefault(parent_id, []).append(part_id)
    for parent_id in parents:
        every = [part["id"] for part in parts_of(parent_id)]
        got = loaded.pop(parent_id, [])
        assert len(got) == len(set(got)), f"{table} of {parent_id}: a part appears twice"
        assert set(every[-PART_CAP:]) <= set(got) <= set(every), f"{table} of {parent_id}"
    assert not loaded, f"{table} of parents the workspace does not have: {sorted(loaded)[:3]}"


# --------------------------------------------------------------------------------------------- cursors


def committed_state(harness: Harness) -> dict[str, Any] | None:
    """The pipeline state of the newest completed load in the destination (what a fresh runner restores).

    Newest by load id, as dlt restores it, not by state version: after a kill between extract and
    normalize, the killed run's package and the next run's package both commit state version N (seen:
    versions 1, 2, 2, 3 in that order), and ordering by version alone picked the older of the two.
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


def cursors(state: Mapping[str, Any] | None, owners: Mapping[str, str] | None = None) -> dict[str, int]:
    """Incremental table -> its `updated_at` cursor (unix seconds) in a pipeline state; `owners` maps the
    tables to look at to the resources holding their cursors (default `CURSOR_OWNERS`)."""
    resources = (state or {}).get("sources", {}).get("intercom", {}).get("resources", {})
    found: dict[str, int] = {}
    for table, owner in (owners or CURSOR_OWNERS).items():
        value = resources.get(owner, {}).get("incremental", {}).get("updated_at", {}).get("last_value")
        if value is not None:
            found[table] = epoch(value)
    return found


def assert_cursors_behind_loaded_data(harness: Harness, table_cursors: Mapping[str, int]) -> None:
    """No cursor has passed data the destination lacks.

    Every workspace row whose `updated_at` is at or before the cursor has not changed since the run that
    stored the cursor, so the destination must hold it at exactly that `updated_at` (a conversation with its
    parts); the cursor itself is never beyond the newest `updated_at` loaded. A contact the search did not
    show yet at the cursor's time is not behind it: the lookback is there to read it later.
    """
    for table, cursor in table_cursors.items():
        stored = loaded_updated_at(harness, table, live_only=False)
        assert stored and cursor <= max(stored.values()), f"{table} cursor {cursor} is past its data"
        loaded = loaded_updated_at(harness, table)
        behind = {
            row_id: at
            for row_id, at in truth_updated_at(harness, table).items()
            if at <= cursor and (table != "contacts" or searchable_at(harness, row_id, cursor))
        }
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


def start_cli(
    harness: Harness,
    resources: Iterable[str] = RESOURCES,
    env: Mapping[str, str] | None = None,
    extra_args: Iterable[str] = (),
) -> subprocess.Popen[bytes]:
    """A CLI run in the background; its output goes to `cli_runs.log` in the harness's folder."""
    with (harness.tmp_path / "cli_runs.log").open("ab") as output:
        return subprocess.Popen(
            cli_command(*harness_args(harness, resources), *extra_args),
            cwd=harness.tmp_path,
            env=dict(env or cli_env()),
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
