"""The analytics models over a loaded pipeline in a fresh process, for `benchmarks/run.py` (`--only models`).

    python benchmarks/models_once.py --workdir DIR      # DIR: a `load_once.py` workdir, already loaded

From the repository root, like the CLI, so the project's `.dlt/config.toml` applies (DuckDB capped at
`memory_limit=64MB, threads=1`). Opens the pipeline `load_once.py` loaded and times, one after the other:

1. `build_models(pipeline)`: the models as views;
2. every mart read completely (`SELECT *`, `to_arrow_table()`) through a plain `duckdb` connection opened
   with the same DuckDB settings but the memory `build_models` gives DuckDB (`MODELS_DUCKDB_MEMORY_LIMIT`:
   the load's cap is for the load's merge, an analyst's query gets DuckDB's default): a view costs when it
   is queried, so each mart is timed on its own;
3. `build_models(pipeline, materialization="table")`;
4. every mart read again, now a table (not when the tables' build failed: the views would be read);
5. a diagnostic: every model created as a table on its own, one statement each (`build_tables_one_by_one`).

A mart whose complete read fails is also streamed in batches (`to_arrow_reader`), which tells whether its
SELECT runs under the cap when the result is not held whole.

A step that fails (out of memory under the cap, say) is recorded with its error and the next one runs. The
result (seconds, rows, the process's peak RSS after each step, row-count checks) is rewritten to
`DIR/models_result.json` after every step, so a run killed on a timeout still says where it was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import load_once

RESULT_FILE = "models_result.json"
PROBE_SCHEMA = "models_one_by_one"
STREAM_BATCH_ROWS = 10_000
ENTITY_TABLES = {
    "intercom__admin_metrics": "admins",
    "intercom__company_metrics": "companies",
    "intercom__contact_enhanced": "contacts",
    "intercom__conversation_metrics": "conversations",
    "intercom__team_metrics": "teams",
}
"""Marts with one row per row of a loaded table: their row count must equal that table's."""
NOT_EMPTY = frozenset({"intercom__daily_conversations"})
"""Marts that must have rows whenever conversations were loaded."""

Result = dict[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Times the analytics models over a loaded pipeline.")
    parser.add_argument("--workdir", type=Path, required=True, help="the workdir `load_once.py` loaded")
    return parser.parse_args(argv)


class Recorder:
    """The result so far, written to the workdir after every step."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.result: Result = {"steps": {}, "marts": {}, "vm_hwm_after_mb": {"before": load_once.vm_hwm_mb()}}

    def save(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self.result, indent=1))
        partial.replace(self.path)

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        """Runs one step, timed; its error (if any) is recorded, not raised."""
        self.result["current_step"] = name
        self.save()
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome, error = None, None
        try:
            outcome = action()
        except Exception as exc:  # noqa: BLE001 - the benchmark reports the error and goes on
            error = f"{type(exc).__name__}: {exc}"
        record = {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}
        self.result["steps"][name] = {**record, "error": error}
        self.result["vm_hwm_after_mb"][name] = load_once.vm_hwm_mb()
        self.result.pop("current_step")
        self.save()
        return outcome


def mart_names() -> list[str]:
    from sources.intercom.models import model_catalogue

    return [model.name for model in model_catalogue() if model.layer == "marts"]


def duckdb_settings(pipeline: Any) -> dict[str, Any]:
    """The DuckDB settings dlt applies to its connections here (`.dlt/config.toml`)."""
    with pipeline.destination_client() as client:
        return dict(client.config.credentials.global_config or {})


def plain_connection(database: Path, settings: dict[str, Any]) -> Any:
    import duckdb

    from sources.intercom.settings import MODELS_DUCKDB_MEMORY_LIMIT

    config = {key: str(value) for key, value in settings.items()}
    config["memory_limit"] = MODELS_DUCKDB_MEMORY_LIMIT
    return duckdb.connect(str(database), config=config)


def build(pipeline: Any, materialization: str) -> Result:
    from sources.intercom.models import build_models

    report = build_models(pipeline, materialization)
    return {"built": len(report.built), "left_out": report.left_out}


def read_marts(recorder: Recorder, database: Path, settings: dict[str, Any], kind: str) -> None:
    """Each mart read completely on its own, timed; rows and errors per mart. A mart whose read fails is
    streamed too, in batches: whether its SELECT runs under the cap when the result is not held whole."""
    connection = plain_connection(database, settings)
    try:
        for mart in mart_names():
            query = f'SELECT * FROM "{load_once.DATASET}"."{mart}"'
            step = f"read {kind}: {mart}"
            table = recorder.step(step, lambda q=query: connection.sql(q).to_arrow_table())
            entry = recorder.result["marts"].setdefault(mart, {})
            entry[kind] = {
                **recorder.result["steps"][step],
                "rows": None if table is None else table.num_rows,
            }
            del table
            if entry[kind]["error"]:
                rows = recorder.step(f"stream {kind}: {mart}", lambda q=query: stream_rows(connection, q))
                entry[kind]["streamed"] = {**recorder.result["steps"][f"stream {kind}: {mart}"], "rows": rows}
            recorder.save()
    finally:
        connection.close()


def stream_rows(connection: Any, query: str) -> int:
    reader = connection.sql(query).to_arrow_reader(STREAM_BATCH_ROWS)
    return sum(batch.num_rows for batch in reader)


def build_tables_one_by_one(recorder: Recorder, database: Path, settings: dict[str, Any]) -> None:
    """Diagnostic: every model (staging, intermediate, marts) created as a table in a scratch schema, one
    statement each, in `build_models`' order, timed on its own: which model costs the time, or the memory.

    Models read the scratch tables built before them (`search_path`); one that failed is read from the
    dataset instead (its view). The scratch schema is dropped afterwards."""
    from sources.intercom.models import SOURCE_DIALECT, model_catalogue, render

    connection = plain_connection(database, settings)
    one_by_one: Result = recorder.result.setdefault("one_by_one", {})
    try:
        loaded = dataset_tables(connection)
        connection.execute(f"DROP SCHEMA IF EXISTS {PROBE_SCHEMA} CASCADE; CREATE SCHEMA {PROBE_SCHEMA}")
        connection.execute(f"SET search_path = '{PROBE_SCHEMA},{load_once.DATASET}'")
        for model in model_catalogue():
            sql = render(model, SOURCE_DIALECT, empty_tables=model.tables - loaded)
            create = f'CREATE TABLE {PROBE_SCHEMA}."{model.name}" AS {sql}'
            recorder.step(f"table one by one: {model.name}", lambda c=create: connection.execute(c))
            one_by_one[model.name] = {
                **recorder.result["steps"][f"table one by one: {model.name}"],
                "layer": model.layer,
                "vm_hwm_mb": load_once.vm_hwm_mb(),
            }
            recorder.save()
    finally:
        connection.execute(f"DROP SCHEMA IF EXISTS {PROBE_SCHEMA} CASCADE")
        connection.close()


def dataset_tables(connection: Any) -> set[str]:
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [load_once.DATASET]
    ).fetchall()
    return {str(row[0]) for row in rows}


def loaded_rows(database: Path, settings: dict[str, Any]) -> dict[str, int]:
    """Rows of the loaded tables that marts are one row per (absent tables count 0)."""
    connection = plain_connection(database, settings)
    try:
        present = dataset_tables(connection)
        counts = {}
        for table in sorted(set(ENTITY_TABLES.values())):
            query = f'SELECT count(*) FROM "{load_once.DATASET}"."{table}"'
            counts[table] = int(connection.execute(query).fetchone()[0]) if table in present else 0
        return counts
    finally:
        connection.close()


def check_failures(result: Result) -> list[str]:
    """Row counts that are not what the loaded tables say they must be (a mart that failed to read is an
    error already, reported as such)."""
    failures = [
        f"{name} left out: {why}"
        for report in result["builds"].values()
        for name, why in report["left_out"].items()
    ]
    loaded = result["loaded_rows"]
    for mart, reads in result["marts"].items():
        for kind, read in reads.items():
            rows = read["rows"] if read["rows"] is not None else read.get("streamed", {}).get("rows")
            if rows is None:
                continue
            expected = loaded.get(ENTITY_TABLES.get(mart, ""))
            if expected is not None and rows != expected:
                failures.append(f"{mart} ({kind}): {rows} rows, expected {expected} (one per loaded row)")
            elif mart in NOT_EMPTY and rows == 0 and loaded.get("conversations"):
                failures.append(f"{mart} ({kind}): no rows, though conversations were loaded")
    return failures


def run(workdir: Path) -> Result:
    pipeline = load_once.make_pipeline(workdir)
    database = workdir / "bench.duckdb"
    recorder = Recorder(workdir / RESULT_FILE)
    result = recorder.result
    result["duckdb_settings"] = settings = duckdb_settings(pipeline)
    result["loaded_rows"] = loaded_rows(database, settings)
    result["builds"] = {}
    for kind in ("view", "table"):
        report = recorder.step(f"build {kind}s", lambda kind=kind: build(pipeline, kind))
        result["builds"][kind] = report or {"built": 0, "left_out": {}}
        if report is not None:  # else the marts are what an earlier build left (the views)
            read_marts(recorder, database, settings, kind)
    build_tables_one_by_one(recorder, database, settings)
    result["database_mb"] = database.stat().st_size / 2**20
    result["vm_hwm_mb"] = load_once.vm_hwm_mb()
    result["check_failures"] = check_failures(result)
    recorder.save()
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")  # as the CLI does, before pyarrow loads
    sys.path.insert(0, str(load_once.REPO_ROOT))
    result = run(args.workdir)
    for failure in result["check_failures"]:
        print(f"models check failed: {failure}", file=sys.stderr)
    return 1 if result["check_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
