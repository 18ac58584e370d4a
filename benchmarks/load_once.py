"""One pipeline load in a fresh process, for `benchmarks/run.py`; prints one JSON result line.

    python benchmarks/load_once.py --base-url http://127.0.0.1:PORT --workdir DIR --resources contacts

Runs `pipeline.extract()`, `.normalize()` and `.load()` (parquet into DuckDB) separately and times each, with
the CLI's allocator settings (Arrow on the C allocator, `ARROW_DEFAULT_MEMORY_POOL=system`, and its malloc
arena cap, `allocator.limit_malloc_arenas`), then reports the rows per table and this
process's peak memory (VmHWM) after each step. Pipeline state and the DuckDB file live in `--workdir`, so a
second call with the same directory is an incremental run. dlt's telemetry is off; nothing but the given
loopback URL is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_NAME = "intercom_bench"
DATASET = "intercom_bench"
RESULT_PREFIX = "LOAD_RESULT "

Result = dict[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="One timed pipeline load against the simulator.")
    parser.add_argument("--base-url", required=True, help="the simulator, http://127.0.0.1:<port>")
    parser.add_argument("--workdir", type=Path, required=True, help="pipelines dir and DuckDB file")
    parser.add_argument("--resources", required=True, help="comma-separated resource names")
    parser.add_argument("--token", default="sim-token")
    parser.add_argument("--max-workers", type=int, default=None, help="default: the source's")
    parser.add_argument(
        "--align-seconds",
        type=float,
        default=0.0,
        help="start extracting at the next multiple of this many seconds of the wall clock",
    )
    return parser.parse_args(argv)


def build_source(args: argparse.Namespace) -> tuple[Any, int]:
    """The source with the benchmarked resources selected, and the worker count it uses."""
    from sources.intercom import intercom_source, settings

    workers = args.max_workers or settings.MAX_WORKERS
    source = intercom_source(access_token=args.token, base_url=args.base_url, max_workers=workers)
    return source.with_resources(*args.resources.split(",")), workers


def make_pipeline(workdir: Path) -> Any:
    import dlt

    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(workdir / "bench.duckdb")),
        dataset_name=DATASET,
        pipelines_dir=str(workdir / "pipelines"),
    )


def wait_for_boundary(period: float) -> None:
    """Sleeps until the wall clock is a multiple of `period` (the simulator's rate-limit windows)."""
    if period > 0:
        time.sleep(period - time.time() % period)


def timed_phases(pipeline: Any, source: Any) -> Result:
    """Wall and CPU seconds (all threads) of extract, normalize and load, the peak RSS reached by the end
    of each, and the rows normalized per table."""
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    peak_mb = {"before": vm_hwm_mb()}
    steps = (
        ("extract", lambda: pipeline.extract(source, loader_file_format="parquet")),
        ("normalize", pipeline.normalize),
        ("load", pipeline.load),
    )
    outcome: dict[str, Any] = {}
    for name, step in steps:
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome[name] = step()
        seconds[name] = time.perf_counter() - started
        cpu_seconds[name] = time.process_time() - cpu_started
        peak_mb[name] = vm_hwm_mb()
    seconds["total"], cpu_seconds["total"] = sum(seconds.values()), sum(cpu_seconds.values())
    rows = {
        table: count
        for table, count in outcome["normalize"].row_counts.items()
        if not table.startswith("_dlt")
    }
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": rows,
        "vm_hwm_mb": peak_mb["load"],
        "vm_hwm_after_mb": peak_mb,
    }


def vm_hwm_mb() -> float:
    """The peak resident set of this process so far (VmHWM in /proc/self/status)."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")  # as the CLI does, before pyarrow loads
    from sources.intercom.allocator import limit_malloc_arenas

    limit_malloc_arenas()  # as the CLI does
    (source, workers), pipeline = build_source(args), make_pipeline(args.workdir)
    wait_for_boundary(args.align_seconds)
    started_at = time.time()
    result = {"max_workers": workers, "started_at": started_at, **timed_phases(pipeline, source)}
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
