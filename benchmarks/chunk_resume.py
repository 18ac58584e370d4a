"""A chunked backfill killed at ~80% of its chunks and resumed, against a from-zero run (issue #13, part 3).

    python benchmarks/chunk_resume.py --conversations 100000 --chunk-rows 10000 [--parts]

The simulator runs in this process (rate limit off, no latency); every load is the CLI in a child process,
into its own pipelines dir and DuckDB file under a temporary folder. Three loads of the same workspace:
one package (`--chunk-rows 0`), chunked from zero, and chunked SIGKILLed once 80% of its chunks are loaded,
then run again. Prints one line per load (time, chunks, requests) and whether each ends exact (every
conversation at its `updated_at` and state, no key twice). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import intercom_sim  # noqa: E402

TOKEN = "bench-chunk-token"
DATASET = "intercom_data"


def cli(base_url: str, folder: Path, chunk_rows: int, resources: str) -> list[str]:
    return [
        sys.executable,
        str(REPO / "pipelines" / "intercom_pipeline.py"),
        "--base-url", base_url,
        "--pipelines-dir", str(folder / "pipelines"),
        "--duckdb-file", str(folder / "intercom.duckdb"),
        "--dataset", DATASET,
        "--resources", resources,
        "--chunk-rows", str(chunk_rows),
        "--no-models",
        "--progress", "none",
    ]  # fmt: skip


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SOURCES__", "RUNTIME__"))}
    return {**env, "SOURCES__INTERCOM__ACCESS_TOKEN": TOKEN, "RUNTIME__DLTHUB_TELEMETRY": "false"}


def loaded_packages(folder: Path) -> int:
    loaded = folder / "pipelines" / "intercom" / "load" / "loaded"
    return sum(1 for entry in loaded.iterdir() if entry.is_dir()) if loaded.exists() else 0


def run(command: list[str], server: Any, kill_after_chunks: int | None = None) -> dict[str, Any]:
    """One CLI load: wall time, search and detail requests, and whether it was killed."""
    server.reset_counters()
    started = time.monotonic()
    folder = Path(command[command.index("--pipelines-dir") + 1]).parent
    with (folder / "cli.log").open("ab") as log:
        process = subprocess.Popen(command, env=environment(), stdout=log, stderr=log)
        killed = False
        while process.poll() is None:
            if kill_after_chunks is not None and loaded_packages(folder) >= kill_after_chunks:
                process.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.01)
        process.wait()
    counters = dict(server.counters)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "returncode": process.returncode,
        "killed": killed,
        "search": counters.get("POST /conversations/search", 0),
        "details": counters.get("GET /conversations/{id}", 0),
        "requests": sum(counters.values()),
        "packages": loaded_packages(folder),
    }


def exact(folder: Path, workspace: Any) -> str:
    with duckdb.connect(str(folder / "intercom.duckdb"), read_only=True) as connection:
        sql = f"SELECT id, state, epoch(updated_at) FROM {DATASET}.conversations"
        rows = connection.execute(sql).fetchall()
    loaded = {row[0]: (row[1], int(row[2])) for row in rows}
    truth = {cid: (c["state"], c["updated_at"]) for cid, c in workspace.conversations.items()}
    if len(rows) != len(loaded):
        return "a key twice"
    return "exact" if loaded == truth else f"{len(set(truth) - set(loaded))} missing, differs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--parts", action="store_true", help="conversation_parts too (a GET each)")
    parser.add_argument("--no-one-package", action="store_true", help="skip the unchunked load")
    args = parser.parse_args()
    resources = "conversations,conversation_parts" if args.parts else "conversations"
    generated = time.monotonic()
    workspace = intercom_sim.Workspace(seed=1, contacts=2_000, companies=50, conversations=args.conversations)
    seconds = time.monotonic() - generated
    print(f"workspace of {args.conversations:,} conversations in {seconds:.0f} s", flush=True)
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0)
    chunks = math.ceil(args.conversations / args.chunk_rows)
    try:
        with tempfile.TemporaryDirectory(prefix="chunk_resume_") as scratch:
            loads = {
                "one package": (Path(scratch, "whole"), 0, None),
                "chunked, from zero": (Path(scratch, "chunked"), args.chunk_rows, None),
                "chunked, killed at 80%": (Path(scratch, "killed"), args.chunk_rows, int(chunks * 0.8)),
            }
            if args.no_one_package:
                del loads["one package"]
            for name, (folder, chunk_rows, kill_after) in loads.items():
                folder.mkdir()
                result = run(cli(server.base_url, folder, chunk_rows, resources), server, kill_after)
                print(f"{name}: {result}", flush=True)
                if kill_after is not None:
                    result = run(cli(server.base_url, folder, chunk_rows, resources), server)
                    print(f"  resumed: {result}", flush=True)
                print(f"  {exact(folder, workspace)}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
